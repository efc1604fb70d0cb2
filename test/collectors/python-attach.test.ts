// Attaching the Python probe to running CPythons started with nothing special (gdb path, 3.8-3.13),
// against the real ChannelServer: values, parked targets, targets that exit, busy threads,
// attaching twice, and the one-line refusals.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { attachPython } from '../../collectors/python/attach';
import { findGdb, GDB_MISSING } from '../../collectors/python/gdb';
import { start, sleep } from '../helpers/processes';
import { fixture, lineRequest, pythons, Recorder, taskCount } from '../fixtures/python/harness';
import { recordCase } from '../helpers/reliability';

const { found, missing } = pythons();
if (missing.length) console.log(`# python interpreters not installed, skipped: ${missing.join(', ')}`);
let gdbPresent = true;
try {
  execFileSync('gdb', ['--version']);
} catch {
  gdbPresent = false;
}

/** kB of the interpreter's and libc's executable mappings that are private copies (written to,
 * e.g. by a software breakpoint): 0 while the text is the file's own pages. */
function writtenTextKb(pid: number): number {
  let kb = 0;
  let counted = false;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s+(.*)$/.exec(line);
    if (head) counted = head[1] === 'r-xp' && /\/(python[\d.]*|libpython[^/]*|libc\.so[^/]*)$/.test(head[2]!);
    else if (counted && line.startsWith('Anonymous:')) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb;
}

for (const py of found) {
  describe(`python attach (gdb), ${py.label}`, { skip: gdbPresent ? false : 'gdb not installed' }, () => {
    const rec = new Recorder();
    before(() => rec.listen());
    after(() => rec.close());
    const attach = (pid: number, timeoutMs = 8000, http?: boolean) =>
      attachPython({
        pid,
        socketPath: rec.socketPath,
        token: rec.server.issueToken(pid),
        intervalMs: 500,
        timeoutMs,
        ...(http === undefined ? {} : { http }),
      });

    it('asyncio server: attach, loop found, 100 ms block reads ≈ 100 ms, output unchanged, a second attach does not stack', async () => {
      const p = start(py.path, [fixture('asyncio_server.py'), '--block']);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      assert.equal(await lineRequest(port, 'a'), 'done a');
      const t0 = Date.now();
      const res = await attach(p.pid);
      assert.deepEqual({ ok: res.ok, pending: res.ok && res.pending }, { ok: true, pending: undefined }, JSON.stringify(res));
      // Queued from the main thread parked in epoll_wait: no breakpoint, nothing written into the
      // interpreter's or libc's code (a breakpoint leaves its page a private copy).
      assert.match(res.ok ? (res.note ?? '') : '', /in a system call/);
      assert.equal(writtenTextKb(p.pid), 0, 'no private copy of interpreter or libc text');
      const hello = await rec.until('hello', () => rec.hellosOf(p.pid)[0]);
      assert.equal(hello.attach, 'gdb');
      await rec.nextSnapshot(p.pid);
      console.log(`# ${py.label}: attach to first snapshot ${Date.now() - t0} ms`);
      await rec.until('a snapshot with the block', () => rec.snapshotsOf(p.pid).find((s) => (s.eventLoop?.delayNs?.max ?? 0) > 50e6), 6000);
      const blocked = rec.snapshotsOf(p.pid).filter((s) => (s.eventLoop?.delayNs?.max ?? 0) > 50e6);
      for (const s of blocked)
        assert.ok(Math.abs(s.eventLoop!.delayNs!.max / 1e6 - 100) <= 15, `max ${s.eventLoop!.delayNs!.max / 1e6} ms`);
      assert.ok(rec.snapshotsOf(p.pid).at(-1)!.eventLoop!.utilization! > 0.03, 'selector wrapped: utilization');
      assert.equal(await lineRequest(port, 'b'), 'done b');
      const tasks = taskCount(p.pid);
      const again = await attach(p.pid);
      assert.equal(again.ok, true, JSON.stringify(again));
      await rec.until('re-hello', () => rec.hellosOf(p.pid).length >= 2);
      await sleep(300);
      assert.equal(taskCount(p.pid), tasks, 'no second probe thread');
      assert.equal(await lineRequest(port, 'c'), 'done c');
      await p.waitFor(/served c\n/); // PYTHONUNBUFFERED: the newline may come in a write of its own
      assert.equal(p.stdout().replace(/ready \d+/, 'ready PORT'), 'ready PORT\nserved a\nserved b\nserved c\n');
      assert.equal(p.stderr(), '');
      p.kill();
    });

    it('threaded http.server: requests after attach are work', async () => {
      const p = start(py.path, [fixture('http_server.py')]);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      const res = await attach(p.pid);
      assert.equal(res.ok, true, JSON.stringify(res));
      await rec.until('hello', () => rec.hellosOf(p.pid)[0]);
      await Promise.all([1, 2, 3].map(() => fetch(`http://127.0.0.1:${port}/sleep?ms=200`).then((r) => r.text())));
      await sleep(700);
      const work = rec.snapshotsOf(p.pid).at(-1)!.work;
      assert.equal(work?.completed, 3);
      assert.ok(work!.busyS >= 0.19, `busyS ${work!.busyS}`);
      p.kill();
    });

    it("HTTP hooks follow the newest attach: off (the agent's default), then on (a profile)", async () => {
      const p = start(py.path, [fixture('http_server.py')]);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      // One keep-alive connection opened while the hooks are off: its thread waits for the next
      // request inside the unhooked handle_one_request when the hooks go in.
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const get = (agent: http.Agent | false): Promise<void> =>
        new Promise((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/sleep?ms=100', agent }, (res) => {
              res.resume();
              res.on('end', () => resolve());
            })
            .on('error', reject);
        });
      const lastWork = async () => {
        const since = Date.now();
        await rec.until('a snapshot after the requests', () => rec.snapshotsOf(p.pid).find((s) => s.t > since + 100));
        return rec.snapshotsOf(p.pid).at(-1)!.work;
      };
      try {
        assert.equal((await attach(p.pid, 8000, false)).ok, true);
        await rec.until('hello', () => rec.hellosOf(p.pid).length >= 1);
        await Promise.all([get(keepAlive), get(false)]);
        assert.equal(await lastWork(), undefined, 'hooks off: no work in the snapshots');

        assert.equal((await attach(p.pid, 8000, true)).ok, true);
        await rec.until('re-hello', () => rec.hellosOf(p.pid).length >= 2);
        await sleep(300);
        await Promise.all([get(false), get(false), get(keepAlive)]);
        const on = await lastWork();
        // the two on new connections; the one on the old connection is not counted, and not left in flight
        assert.deepEqual({ inFlight: on?.inFlight, completed: on?.completed }, { inFlight: 0, completed: 2 });
        await get(keepAlive);
        assert.equal((await lastWork())?.completed, 3, "the old connection's next request is counted");
      } finally {
        keepAlive.destroy();
        p.kill();
      }
    });

    it('a second agent takes the probe over (a profile on a watched process); its bye, or its being gone for giveUpMs, gives the probe back to the first', async () => {
      const p = start(py.path, [fixture('asyncio_server.py'), '--block']);
      await p.waitFor(/ready (\d+)/);
      const second = new Recorder();
      await second.listen();
      const third = new Recorder();
      try {
        assert.equal((await attach(p.pid)).ok, true);
        await rec.until('hello', () => rec.hellosOf(p.pid).length >= 1);
        const took = await attachPython({
          pid: p.pid,
          socketPath: second.socketPath,
          token: second.server.issueToken(p.pid),
          intervalMs: 300,
          timeoutMs: 8000,
        });
        assert.equal(took.ok, true, JSON.stringify(took));
        await second.until('hello at the second agent', () => second.hellosOf(p.pid).length >= 1);
        const greeted = rec.hellosOf(p.pid).length;
        second.server.sendBye(p.pid);
        await rec.until('the probe greets the first agent again', () => rec.hellosOf(p.pid).length > greeted, 8000);
        const since = Date.now();
        await rec.until('snapshots at the first agent again', () => rec.snapshotsOf(p.pid).filter((s) => s.t >= since).length >= 2, 8000);
        assert.equal(rec.snapshotsOf(p.pid).at(-1)!.intervalMs, 500, "the first agent's settings again");
        const atSecond = second.snapshotsOf(p.pid).length;
        await sleep(1000);
        assert.equal(second.snapshotsOf(p.pid).length, atSecond, 'nothing more to the agent that left');
        // A third agent takes over and goes away without a bye: after its giveUpMs the probe goes
        // back to the first agent too.
        await third.listen();
        const tookAgain = await attachPython({
          pid: p.pid,
          socketPath: third.socketPath,
          token: third.server.issueToken(p.pid),
          intervalMs: 300,
          giveUpMs: 1500,
          timeoutMs: 8000,
        });
        assert.equal(tookAgain.ok, true, JSON.stringify(tookAgain));
        await third.until('hello at the third agent', () => third.hellosOf(p.pid).length >= 1);
        const greetedAgain = rec.hellosOf(p.pid).length;
        const gone = Date.now();
        await third.close();
        await rec.until(
          'the probe greets the first agent after giving up on the third',
          () => rec.hellosOf(p.pid).length > greetedAgain,
          15_000,
        );
        const after = Date.now() - gone;
        assert.ok(after >= 1500, `left the third agent ${after} ms after it went away, before its giveUpMs`);
      } finally {
        await second.close();
        await third.close();
        p.kill();
      }
    });

    it('idle asyncio loop with no timers: pending, then the probe arrives with the first request', async () => {
      const p = start(py.path, [fixture('idle_loop.py')]);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      const res = await attach(p.pid, 4000);
      assert.equal(res.ok, true, JSON.stringify(res));
      assert.equal(res.ok && res.pending, true, JSON.stringify(res));
      assert.match((res.ok && res.note) || '', /probe pending: target idle/);
      await sleep(500);
      assert.equal(rec.hellosOf(p.pid).length, 0);
      assert.equal(await lineRequest(port, 'x'), 'ok x');
      await rec.until('hello after the first request', () => rec.hellosOf(p.pid)[0], 3000);
      assert.equal(await lineRequest(port, 'y'), 'ok y');
      await p.waitFor(/served\nserved\n/);
      assert.equal(p.stdout().replace(/ready \d+/, 'ready PORT'), 'ready PORT\nserved\nserved\n');
      p.kill();
    });

    it('eight threads busy in Python while attaching: results unchanged', async () => {
      // Long enough (≈ 6-10 s) that the work outlasts a slow attach on a loaded machine: with 8M
      // iterations the target sometimes finished first and attach rightly said it had exited.
      const iterations = '20000000';
      // The same computation without attach runs alongside: its output is the reference.
      const plain = promisify(execFile)(py.path, [fixture('busy_threads.py'), iterations], { encoding: 'utf8' });
      const p = start(py.path, [fixture('busy_threads.py'), iterations]);
      await p.waitFor(/ready/);
      await sleep(300);
      const res = await attach(p.pid);
      assert.equal(res.ok, true, JSON.stringify(res));
      await rec.until('hello', () => rec.hellosOf(p.pid)[0], 5000);
      const done = await p.exited;
      assert.equal(done.code, 0, p.stderr());
      assert.equal(p.stderr(), '');
      assert.equal(p.stdout(), (await plain).stdout);
    });

    it('one thread busy in pure Python (no system calls): queued at a safe point, result unchanged', async () => {
      const code =
        'import sys\nprint("ready", flush=True)\nt = 0\nfor i in range(int(sys.argv[1])):\n    t = (t + i * 7) % 1000003\nprint("result", t, flush=True)\n';
      const iterations = '30000000';
      const plain = promisify(execFile)(py.path, ['-c', code, iterations], { encoding: 'utf8' });
      const p = start(py.path, ['-c', code, iterations]);
      await p.waitFor(/ready/);
      await sleep(200);
      const res = await attach(p.pid);
      assert.equal(res.ok, true, JSON.stringify(res));
      assert.match(res.ok ? (res.note ?? '') : '', /queued at (PyObject_Malloc|PyEval_SaveThread|PyEval_RestoreThread)/);
      await rec.until('hello', () => rec.hellosOf(p.pid)[0], 5000);
      const done = await p.exited;
      assert.equal(done.code, 0, p.stderr());
      assert.equal(p.stderr(), '');
      assert.equal(p.stdout(), (await plain).stdout);
    });

    it('a target that exits during attach: one clear line, no throw', async () => {
      for (const lifeMs of [0, 150, 400]) {
        const p = start(py.path, ['-c', `import time; time.sleep(${lifeMs / 1000})`]);
        await sleep(lifeMs / 2);
        const res = await attach(p.pid, 3000);
        await p.exited;
        if (!res.ok) assert.match(res.reason, /exit|does not exist/, res.reason);
      }
    });
  });
}

describe('python attach: refusals are one clear line, the target untouched', () => {
  it('not CPython', async () => {
    const p = start('sleep', ['30']);
    const res = await attachPython({ pid: p.pid, socketPath: '/tmp/x.sock', token: 'x'.repeat(20), intervalMs: 1000 });
    assert.equal(res.ok, false);
    assert.match(!res.ok ? res.reason : '', /not a CPython process/);
    p.kill();
  });

  it('gdb missing from PATH is still found where it is installed; missing everywhere is one line', (t) => {
    if (!fs.existsSync('/usr/bin/gdb')) return t.skip('gdb is not in /usr/bin here');
    assert.equal(findGdb('/nonexistent'), '/usr/bin/gdb');
    assert.equal(findGdb('/nonexistent', []), null);
    assert.match(GDB_MISSING, /^gdb is not installed \(not in PATH, \/usr\/bin or \/usr\/local\/bin\): apt-get install gdb/);
    recordCase('gdb-path', 'found in `/usr/bin`; a real absence is one line naming where it looked');
  });

  it(
    'ptrace not permitted (attacher is another user)',
    { skip: process.getuid?.() !== 0 ? 'needs root to switch user' : false },
    async () => {
      const p = start('/usr/bin/python3', ['-c', 'import time; time.sleep(30)']);
      const script = `require(${JSON.stringify(require.resolve('../../collectors/python/attach'))}).attachPython({pid:${p.pid},socketPath:'/tmp/x.sock',token:'${'x'.repeat(20)}',intervalMs:1000}).then(r=>console.log(JSON.stringify(r)))`;
      const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], {
        encoding: 'utf8',
      });
      const res = JSON.parse(out);
      assert.equal(res.ok, false);
      assert.match(res.reason, /run as the same user or with CAP_SYS_PTRACE; in Kubernetes add SYS_PTRACE/);
      assert.equal(p.child.exitCode, null, 'target still running');
      p.kill();
    },
  );
});
