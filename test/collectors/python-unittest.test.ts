// The probe package's own unit tests (stdlib unittest, test/collectors/python/rtprof_probe/: delay
// statistics, GC pauses, config, channel framing and backoff, work tracking through the real HTTP hooks,
// the loader) run on Debian's python3 and on the oldest and newest pyenv CPython installed.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { start } from '../helpers/processes';
import { packageRoot } from '../helpers/spawn';
import { pythons } from '../fixtures/python/harness';
import type { Python } from '../fixtures/python/harness';

const TESTS_DIR = path.join(packageRoot(), 'test', 'collectors', 'python', 'rtprof_probe');
// As many as test_*.py define today: discovery that finds fewer (a module that fails to import
// is one error, a renamed directory none) fails here instead of passing on less.
const MIN_TESTS = 40;
const TIMEOUT_MS = 60_000;

function interpreters(): Python[] {
  const { found } = pythons();
  const debian = found.filter((p) => p.path === '/usr/bin/python3');
  const pyenv = found.filter((p) => p.label.startsWith('pyenv-'));
  const picked = [...debian, ...pyenv.slice(0, 1), ...(pyenv.length > 1 ? pyenv.slice(-1) : [])];
  return picked;
}

describe('python probe package: unittest', () => {
  const list = interpreters();
  if (list.length === 0) {
    it('no CPython found', { skip: 'neither /usr/bin/python3 nor a pyenv CPython is installed' }, () => undefined);
    return;
  }
  for (const py of list) {
    it(`${py.label}: python -m unittest discover passes, ≥ ${MIN_TESTS} tests, none skipped`, async () => {
      const p = start(py.path, ['-m', 'unittest', 'discover', '-s', TESTS_DIR, '-t', TESTS_DIR, '-p', 'test_*.py'], {
        cwd: TESTS_DIR,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: '' },
      });
      const timer = setTimeout(() => p.kill(), TIMEOUT_MS);
      const { code } = await p.exited;
      clearTimeout(timer);
      const report = p.stderr();
      assert.equal(code, 0, report.slice(-4000));
      const ran = Number(/^Ran (\d+) tests? in /m.exec(report)?.[1] ?? 0);
      assert.ok(ran >= MIN_TESTS, `ran ${ran} tests, expected at least ${MIN_TESTS}:\n${report.slice(-2000)}`);
      assert.match(report, /\nOK\n?$/, 'no skipped or expected failures');
    });
  }
});
