// Every coded error is documented in the README (fastify's habit: codes are a public contract).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errors } from '../src/errors';

test('each error code appears in the README with its exit code', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  for (const make of Object.values(errors)) {
    const err = make('x', 'y', 'z');
    assert.match(readme, new RegExp(`\\| \`${err.code}\` \\| ${err.exitCode} \\|`), `${err.code} documented`);
    assert.equal(err.message.includes('\n'), false, `${err.code} is one line`);
  }
});
