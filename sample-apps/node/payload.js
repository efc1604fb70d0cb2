'use strict';
// The deterministic ~10 KB order document served by /json. python/sample_common.py builds the
// byte-identical document (same PRNG, same draw order, same key order), so the Node and Python
// apps parse and serialize exactly the same bytes. Change both or neither.

const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'refunded'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Niklaus'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Wirth'];
const STREETS = ['Main St', 'Oak Ave', 'Maple Rd', 'Cedar Ln', 'Pine St', 'Elm Dr', 'Lake View', 'Hill Rd'];
const CITIES = ['Lisbon', 'Austin', 'Osaka', 'Lyon', 'Toronto', 'Leipzig', 'Porto', 'Denver'];
const COUNTRIES = ['PT', 'US', 'JP', 'FR', 'CA', 'DE'];
const PRODUCTS = [
  'USB-C cable',
  'Mechanical keyboard',
  'Desk lamp',
  'Notebook',
  'Coffee beans 1kg',
  'Monitor stand',
  'Headphones',
  'Water bottle',
  'Backpack',
  'Phone case',
];
const SHIPPING = ['standard', 'express', 'pickup'];
const TAGS = ['gift', 'priority', 'first-order', 'b2b', 'subscription', 'promo'];

const ORDER_COUNT = 20;
const BASE_EPOCH = 1704067200; // 2024-01-01T00:00:00Z

function makeDocument() {
  let seed = 42;
  // Park-Miller minimal standard: exact in float64 (48271 * 2^31 < 2^53), so JS and Python agree.
  const rnd = () => (seed = (seed * 48271) % 2147483647);
  const pick = (arr) => arr[rnd() % arr.length];
  const iso = (t) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

  const orders = [];
  for (let i = 0; i < ORDER_COUNT; i++) {
    const id = `ord_${100000 + i}`;
    const status = pick(STATUSES);
    const createdAt = iso(BASE_EPOCH + i * 3517 + (rnd() % 3600));
    const customerId = `cus_${10000 + (rnd() % 90000)}`;
    const first = pick(FIRST);
    const last = pick(LAST);
    const street = `${100 + (rnd() % 9000)} ${pick(STREETS)}`;
    const city = pick(CITIES);
    const postalCode = String(10000 + (rnd() % 90000));
    const country = pick(COUNTRIES);
    const itemCount = 1 + (rnd() % 3);
    const items = [];
    let subtotal = 0;
    for (let j = 0; j < itemCount; j++) {
      const sku = `SKU-${100000 + (rnd() % 900000)}`;
      const name = pick(PRODUCTS);
      const quantity = 1 + (rnd() % 4);
      const unitPrice = 100 + (rnd() % 9900);
      subtotal += quantity * unitPrice;
      items.push({ sku, name, quantity, unit_price_cents: unitPrice });
    }
    const method = pick(SHIPPING);
    const shippingCost = method === 'pickup' ? 0 : 300 + (rnd() % 1200);
    const tags = [];
    const tagCount = rnd() % 3;
    for (let j = 0; j < tagCount; j++) tags.push(pick(TAGS));
    orders.push({
      id,
      status,
      created_at: createdAt,
      customer: {
        id: customerId,
        name: `${first} ${last}`,
        email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`,
        address: { street, city, postal_code: postalCode, country },
      },
      items,
      shipping: { method, cost_cents: shippingCost },
      total_cents: subtotal + shippingCost,
      tags,
    });
  }
  return { generated_by: 'rtprof-sample', order_count: ORDER_COUNT, orders };
}

/** The request-side text: what /json parses on every request. */
const PAYLOAD_TEXT = JSON.stringify(makeDocument());

/** Parse the payload, aggregate over it, and serialize the result (what /json does per request). */
function jsonRoundTrip() {
  const doc = JSON.parse(PAYLOAD_TEXT);
  let items = 0;
  let revenue = 0;
  for (const o of doc.orders) {
    revenue += o.total_cents;
    for (const it of o.items) items += it.quantity;
  }
  return JSON.stringify({ order_count: doc.orders.length, item_count: items, revenue_cents: revenue, orders: doc.orders });
}

module.exports = { PAYLOAD_TEXT, jsonRoundTrip, makeDocument };
