// Every package the lockfile installs accepts the Node that runs the tests (CI runs them on the
// oldest Node rtprof supports): a clean `npm ci` then prints no EBADENGINE warning.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/agent';

type Version = [number, number, number];

function parse(text: string): { v: Version; parts: number } {
  const nums = text
    .replace(/^v/, '')
    .split('.')
    .filter((p) => p !== '' && p !== '*' && p.toLowerCase() !== 'x')
    .map(Number);
  return { v: [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0], parts: nums.length };
}

const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The subset of semver ranges engines fields use: ||, space-joined comparators, ^ ~ >= > <= < =, x/*. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version).v;
  return range.split('||').some((alternative) => {
    const tokens = alternative
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return tokens.every((token) => {
      const [, op = '', rest = ''] = /^([<>=^~]*)(.*)$/.exec(token) ?? [];
      if (rest === '*' || rest === '') return true;
      const { v: w, parts } = parse(rest);
      switch (op) {
        case '>=':
          return cmp(v, w) >= 0;
        case '>':
          return cmp(v, w) > 0;
        case '<=':
          return cmp(v, w) <= 0;
        case '<':
          return cmp(v, w) < 0;
        case '^':
          return cmp(v, w) >= 0 && (w[0] > 0 ? v[0] === w[0] : w[1] > 0 ? v[0] === 0 && v[1] === w[1] : cmp(v, w) === 0);
        case '~':
          return cmp(v, w) >= 0 && v[0] === w[0] && (parts < 2 || v[1] === w[1]);
        default: // "20", "20.9", "10.*": every version with that prefix
          return v.slice(0, parts).every((n, i) => n === w[i]);
      }
    });
  });
}

test('the range subset: the forms the lockfile uses, and cookie@2 rejecting Node 20', () => {
  assert.equal(satisfies('20.20.2', '>=22'), false);
  assert.equal(satisfies('20.20.2', '^18.18.0 || ^20.9.0 || >=21.1.0'), true);
  assert.equal(satisfies('20.5.0', '^18.19.0 || >=20.6.0'), false);
  assert.equal(satisfies('20.20.2', '18 || 20 || >=22'), true);
  assert.equal(satisfies('21.0.0', '20 || >=22'), false);
  assert.equal(satisfies('20.20.2', '>= 10.x'), true);
  assert.equal(satisfies('20.20.2', '10.* || >= 12.*'), true);
  assert.equal(satisfies('8.9.0', '>=9.3.0 || >=8.10.0 <9.0.0'), false);
  assert.equal(satisfies('20.20.2', '*'), true);
});

test(`every package in package-lock.json accepts Node ${process.versions.node} in its engines field`, () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>;
  };
  const refused = Object.entries(lock.packages)
    .filter(([, p]) => p.engines && !Array.isArray(p.engines) && typeof p.engines.node === 'string')
    .filter(([, p]) => !satisfies(process.versions.node, (p.engines as { node: string }).node))
    .map(([name, p]) => `${name}@${p.version ?? '?'} wants node ${(p.engines as { node: string }).node}`);
  assert.deepEqual(refused, []);
});
