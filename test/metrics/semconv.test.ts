// The names copied into src/metrics/semconv.ts are exactly the semantic conventions' own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import * as ours from '../../src/metrics/semconv';

test('every copied semantic-convention constant equals the package value', () => {
  const entries = Object.entries(ours);
  assert.ok(entries.length > 30);
  for (const [name, value] of entries) assert.equal(value, (incubating as Record<string, unknown>)[name], name);
});
