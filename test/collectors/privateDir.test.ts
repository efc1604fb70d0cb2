// The agent's own directories: `--socket` in a directory it did not make leaves that directory as
// it was (a root agent once chmodded a shared one to 0755, stripping /tmp's sticky bit), and a
// directory other users can write without the sticky bit is refused in one line.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { rtprof } from '../helpers/agent';
import { start } from '../helpers/processes';
import { recordCase } from '../helpers/reliability';

const isRoot = process.geteuid?.() === 0;

function sharedDir(mode: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtprof-shared-'));
  fs.chmodSync(dir, mode);
  return dir;
}

test('--socket in a sticky shared directory: the agent serves and the directory keeps mode 1777', async () => {
  const dir = sharedDir(0o1777);
  const target = start('sleep', ['60']);
  const agent = rtprof(['agent', '--pid', String(target.pid), '--no-attach', '--port', '0', '--socket', path.join(dir, 'x.sock')]);
  try {
    await agent.waitFor(/serving http:\/\/\S+\/metrics/, 20_000);
    assert.equal((fs.statSync(dir).mode & 0o7777).toString(8), '1777', 'the shared directory is untouched');
    assert.equal(fs.statSync(path.join(dir, 'x.sock')).mode & 0o777, 0o600, 'the socket itself is private');
    recordCase('socket-sticky', `dir stays ${(fs.statSync(dir).mode & 0o7777).toString(8)}; socket 0600`);
  } finally {
    agent.kill('SIGTERM');
    await agent.exited;
    target.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--socket in a directory others can write without the sticky bit: one line, exit 1, directory untouched', async () => {
  const dir = sharedDir(0o777);
  const target = start('sleep', ['60']);
  const agent = rtprof(['agent', '--pid', String(target.pid), '--no-attach', '--port', '0', '--socket', path.join(dir, 'x.sock')]);
  try {
    const { code } = await agent.exited;
    assert.equal(code, 1, agent.stderr());
    const lines = agent.stderr().trim().split('\n');
    assert.equal(lines.length, 1, agent.stderr());
    assert.match(lines[0]!, /cannot open the probe socket .*x\.sock: .* is writable by other users \(mode 777\).*--socket PATH/);
    assert.equal(fs.statSync(dir).mode & 0o7777, 0o777);
    recordCase('socket-open-dir', `exit ${code}, one line \`… is writable by other users (mode 777) …\`, dir stays 0777`);
  } finally {
    target.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a default socket directory planted by another user is refused, not adopted', { skip: !isRoot && 'needs root' }, async () => {
  // The agent's default dir is <tmp>/rtprof-<uid>: give it a private temp dir where "another user"
  // (nobody) already made that name.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtprof-tmp-'));
  fs.chmodSync(tmp, 0o1777);
  const planted = path.join(tmp, 'rtprof-0');
  fs.mkdirSync(planted, { mode: 0o777 });
  fs.chownSync(planted, 65534, 65534);
  fs.chmodSync(planted, 0o777);
  const target = start('sleep', ['60']);
  const env = { ...process.env, TMPDIR: tmp, XDG_RUNTIME_DIR: '' };
  const agent = rtprof(['agent', '--pid', String(target.pid), '--no-attach', '--port', '0'], env);
  try {
    const { code } = await agent.exited;
    assert.equal(code, 1, agent.stderr());
    assert.match(agent.stderr().trim(), /^rtprof: .*rtprof-0 belongs to uid 65534, not to us \(uid 0\)[^\n]*$/);
    const st = fs.statSync(planted);
    assert.deepEqual({ uid: st.uid, mode: st.mode & 0o7777 }, { uid: 65534, mode: 0o777 });
    recordCase('socket-planted', `refused: exit ${code}, one line; dir untouched (uid 65534, mode 0777)`);
  } finally {
    target.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
