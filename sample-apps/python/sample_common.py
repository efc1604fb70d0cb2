"""What the Python sample apps share: config, the /json payload, parameter parsing, the CPU burn.

node/payload.js builds the byte-identical /json document (same PRNG, same draw order, same key
order): change both or neither. Stdlib only; runs on CPython 3.8+.
"""
import datetime
import json
import os
import sys
import time
from urllib.parse import parse_qs, urlsplit

MAX_MS = 60000

STATUSES = ["pending", "paid", "shipped", "delivered", "refunded"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Niklaus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Wirth"]
STREETS = ["Main St", "Oak Ave", "Maple Rd", "Cedar Ln", "Pine St", "Elm Dr", "Lake View", "Hill Rd"]
CITIES = ["Lisbon", "Austin", "Osaka", "Lyon", "Toronto", "Leipzig", "Porto", "Denver"]
COUNTRIES = ["PT", "US", "JP", "FR", "CA", "DE"]
PRODUCTS = ["USB-C cable", "Mechanical keyboard", "Desk lamp", "Notebook", "Coffee beans 1kg",
            "Monitor stand", "Headphones", "Water bottle", "Backpack", "Phone case"]
SHIPPING = ["standard", "express", "pickup"]
TAGS = ["gift", "priority", "first-order", "b2b", "subscription", "promo"]

ORDER_COUNT = 20
BASE_EPOCH = 1704067200  # 2024-01-01T00:00:00Z


def make_document():
    state = [42]

    def rnd():
        # Park-Miller minimal standard, identical to the JS version.
        state[0] = (state[0] * 48271) % 2147483647
        return state[0]

    def pick(arr):
        return arr[rnd() % len(arr)]

    def iso(t):
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    orders = []
    for i in range(ORDER_COUNT):
        oid = "ord_%d" % (100000 + i)
        status = pick(STATUSES)
        created_at = iso(BASE_EPOCH + i * 3517 + rnd() % 3600)
        customer_id = "cus_%d" % (10000 + rnd() % 90000)
        first = pick(FIRST)
        last = pick(LAST)
        street = "%d %s" % (100 + rnd() % 9000, pick(STREETS))
        city = pick(CITIES)
        postal_code = str(10000 + rnd() % 90000)
        country = pick(COUNTRIES)
        item_count = 1 + rnd() % 3
        items = []
        subtotal = 0
        for _ in range(item_count):
            sku = "SKU-%d" % (100000 + rnd() % 900000)
            name = pick(PRODUCTS)
            quantity = 1 + rnd() % 4
            unit_price = 100 + rnd() % 9900
            subtotal += quantity * unit_price
            items.append({"sku": sku, "name": name, "quantity": quantity, "unit_price_cents": unit_price})
        method = pick(SHIPPING)
        shipping_cost = 0 if method == "pickup" else 300 + rnd() % 1200
        tags = []
        tag_count = rnd() % 3
        for _ in range(tag_count):
            tags.append(pick(TAGS))
        orders.append({
            "id": oid,
            "status": status,
            "created_at": created_at,
            "customer": {
                "id": customer_id,
                "name": "%s %s" % (first, last),
                "email": "%s.%s@example.com" % (first.lower(), last.lower()),
                "address": {"street": street, "city": city, "postal_code": postal_code, "country": country},
            },
            "items": items,
            "shipping": {"method": method, "cost_cents": shipping_cost},
            "total_cents": subtotal + shipping_cost,
            "tags": tags,
        })
    return {"generated_by": "rtprof-sample", "order_count": ORDER_COUNT, "orders": orders}


def dumps(obj):
    """JSON exactly as JavaScript's JSON.stringify writes it (for ints and strings)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


PAYLOAD_TEXT = dumps(make_document())


def json_round_trip():
    """Parse the payload, aggregate over it, serialize the result: what /json does per request."""
    doc = json.loads(PAYLOAD_TEXT)
    items = 0
    revenue = 0
    for o in doc["orders"]:
        revenue += o["total_cents"]
        for it in o["items"]:
            items += it["quantity"]
    return dumps({"order_count": len(doc["orders"]), "item_count": items, "revenue_cents": revenue,
                  "orders": doc["orders"]}).encode("utf-8")


def burn(ms):
    """Busy compute (pure Python, holds the GIL) until ms of wall time passed; returns iterations."""
    deadline = time.perf_counter() + ms / 1000.0
    x = 1
    iterations = 0
    while True:
        for _ in range(1000):
            x = (x * 48271) % 2147483647
        iterations += 1000
        if time.perf_counter() >= deadline:
            break
    return iterations


class HttpError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


def ms_param(query, name, default):
    values = query.get(name)
    if not values or values[0] == "":
        return default
    raw = values[0]
    if not raw.isdigit() or not raw.isascii() or int(raw) > MAX_MS:
        raise HttpError(400, "%s must be an integer between 0 and %d" % (name, MAX_MS))
    return int(raw)


def parse_target(target):
    parts = urlsplit(target)
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


def work_result(endpoint, cpu_ms, io_ms, iterations, t0):
    return {"endpoint": endpoint, "cpu_ms": cpu_ms, "io_ms": io_ms, "iterations": iterations,
            "elapsed_ms": round((time.perf_counter() - t0) * 1000.0, 3)}


def health():
    return {"status": "ok", "runtime": "cpython", "pid": os.getpid()}


def config(default_port):
    """PORT/HOST/DOWNSTREAM_URL from the environment, overridden by --port/--host/--downstream."""
    cfg = {
        "port": os.environ.get("PORT", str(default_port)),
        "host": os.environ.get("HOST", "127.0.0.1"),
        "downstream": os.environ.get("DOWNSTREAM_URL", "http://127.0.0.1:3999"),
    }
    argv = sys.argv[1:]
    i = 0
    while i < len(argv):
        arg = argv[i]
        for name in ("port", "host", "downstream"):
            if arg == "--" + name and i + 1 < len(argv):
                cfg[name] = argv[i + 1]
                i += 1
            elif arg.startswith("--" + name + "="):
                cfg[name] = arg.split("=", 1)[1]
        i += 1
    try:
        cfg["port"] = int(cfg["port"])
    except ValueError:
        sys.stderr.write("PORT must be an integer, got %r\n" % cfg["port"])
        sys.exit(2)
    ds = urlsplit(cfg["downstream"])
    cfg["downstream_host"] = ds.hostname or "127.0.0.1"
    cfg["downstream_port"] = ds.port or 80
    return cfg


def ready(port):
    sys.stdout.write("READY pid=%d port=%d runtime=cpython\n" % (os.getpid(), port))
    sys.stdout.flush()


def worker_count(prog):
    """The number of worker processes: --workers N (or --workers=N) on the command line, else
    WORKERS, else 2; anything but 1-64 is a usage error (exit 2)."""
    import os
    import sys

    raw = os.environ.get("WORKERS", "2")
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--workers" and i + 1 < len(argv):
            raw = argv[i + 1]
        elif arg.startswith("--workers="):
            raw = arg.split("=", 1)[1]
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        sys.stderr.write("%s: WORKERS must be an integer in 1-64, got %r\n" % (prog, raw))
        sys.exit(2)
    return n
