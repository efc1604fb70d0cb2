// `rtprof run -- CMD`: the agent plus a service launched with the probe preloaded, as a user runs
// it: the service's output and exit code pass through, its probe series appear on /metrics, and
// a service started through a wrapper (sh, or a Node launcher such as npm) is reached too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePrometheus, ROOT, rtprof, RTPROF, valuesOf } from './helpers/agent';
import { alive, PYTHON, sleep, type Started } from './helpers/processes';

const DOWNSTREAM = join(ROOT, 'sample-apps', 'downstream', 'server.js');
const PY_APP = join(ROOT, 'sample-apps', 'python', 'asyncio_app.py');

interface TargetJson {
  pid: number;
  runtime: string;
  serviceName: string;
  probe: { state: string; method: string; snapshots: number };
}

async function launched(args: string[], flags: string[] = []): Promise<{ proc: Started; url: string; appPid: number; appPort: number }> {
  const proc = rtprof(['run', '--port', '0', '--interval', '500ms', ...flags, '--', ...args], { ...process.env, PORT: '0' });
  const [, url] = await proc.waitFor(/metrics at (http:\/\/\S+)\/metrics/, 20_000);
  const [, pid, port] = await proc.waitFor(/READY pid=(\d+) port=(\d+)/, 20_000);
  return { proc, url: url!, appPid: Number(pid), appPort: Number(port) };
}

/** Polls /api/targets until pid's probe has sent snapshots. */
async function connected(url: string, pid: number, timeoutMs = 15_000): Promise<TargetJson> {
  const deadline = Date.now() + timeoutMs;
  let last: TargetJson | undefined;
  while (Date.now() < deadline) {
    const targets = (await (await fetch(`${url}/api/targets`)).json()) as TargetJson[];
    last = targets.find((t) => t.pid === pid);
    if (last && last.probe.state === 'connected' && last.probe.snapshots >= 1) return last;
    await sleep(100);
  }
  throw new Error(`probe of ${pid} did not connect: ${JSON.stringify(last)}`);
}

async function stop(proc: Started): Promise<number | null> {
  proc.child.kill('SIGTERM');
  return (await proc.exited).code;
}

describe('rtprof run', () => {
  it('node app: preloaded probe, series on /metrics, SIGTERM reaches the app, its exit code is ours', async () => {
    const { proc, url, appPid } = await launched([process.execPath, DOWNSTREAM]);
    try {
      const target = await connected(url, appPid);
      assert.equal(target.probe.method, 'preload');
      assert.notEqual(appPid, proc.pid);
      const { samples } = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
      assert.equal(valuesOf(samples, 'nodejs_eventloop_delay_p99_seconds', appPid).length, 1);
      assert.equal(valuesOf(samples, 'rtprof_target_info', appPid)[0]?.labels.rtprof_attach, 'preload');
      // the app's stdout passes through untouched: only its READY line
      assert.match(proc.stdout(), /^READY pid=\d+ port=\d+ runtime=nodejs\n$/);
    } finally {
      // the downstream exits 0 on SIGTERM, and rtprof exits with the child's code
      assert.equal(await stop(proc), 0);
    }
  });

  for (const [runtime, app] of [
    ['node', [process.execPath, DOWNSTREAM]],
    ['python', [PYTHON, PY_APP]],
  ] as const) {
    it(`${runtime} app: its HTTP server is hooked only with --http (request series), the runtime series stay either way`, async () => {
      const requestsSeen = async (flags: string[]): Promise<{ completed: number; loopSeries: number }> => {
        const { proc, url, appPid, appPort } = await launched([...app], flags);
        try {
          await connected(url, appPid);
          for (let i = 0; i < 3; i++) await (await fetch(`http://127.0.0.1:${appPort}/`)).text();
          // two intervals later the requests are in a snapshot
          await sleep(1500);
          const { samples } = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
          const completed = valuesOf(samples, 'rtprof_requests_completed_total', appPid).reduce((a, x) => a + x.value, 0);
          const loop = runtime === 'node' ? 'nodejs_eventloop_delay_p99_seconds' : 'cpython_gc_collections_total';
          return { completed, loopSeries: valuesOf(samples, loop, appPid).length };
        } finally {
          assert.equal(await stop(proc), 0);
        }
      };
      const unhooked = await requestsSeen([]);
      assert.equal(unhooked.completed, 0, 'default: no request series');
      assert.ok(unhooked.loopSeries >= 1, 'default: the runtime series are there');
      const hooked = await requestsSeen(['--http']);
      assert.ok(hooked.completed >= 3, `--http: ${hooked.completed} completed requests exported`);
      assert.ok(hooked.loopSeries >= 1, '--http: the runtime series are there too');
    });
  }

  it('the child exit code passes through, and the agent goes with the child', () => {
    const r = spawnSync(RTPROF, ['run', '--port', '0', '--', process.execPath, '-e', 'setTimeout(() => process.exit(3), 300)'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 3, r.stderr);
  });

  it('python app: preloaded probe through sitecustomize, cpython series on /metrics', async () => {
    const { proc, url, appPid } = await launched([PYTHON, PY_APP]);
    try {
      const target = await connected(url, appPid);
      assert.equal(target.probe.method, 'preload');
      assert.equal(target.runtime, 'cpython');
      const { samples } = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
      assert.ok(valuesOf(samples, 'rtprof_python_interpreter_delay_p99_seconds', appPid).length === 1, 'interpreter delay exported');
      assert.ok(valuesOf(samples, 'cpython_gc_collections_total', appPid).length >= 1, 'gc collections exported');
    } finally {
      assert.equal(await stop(proc), 0);
    }
  });

  it("a wrapper that is neither Node nor Python (sh -c '…; true'): its node child connects with the inherited launch token", async () => {
    const { proc, url, appPid } = await launched(['sh', '-c', `${process.execPath} ${DOWNSTREAM}; true`]);
    try {
      const target = await connected(url, appPid);
      assert.equal(target.probe.method, 'preload');
      assert.doesNotMatch(proc.stderr(), /bad_token|wrong_pid/);
      const targets = (await (await fetch(`${url}/api/targets`)).json()) as TargetJson[];
      const sh = targets.find((t) => t.runtime === 'other');
      assert.ok(sh, 'the sh wrapper is watched from /proc');
    } finally {
      await stop(proc);
    }
    // SIGTERM to rtprof reached the app too (sh does not pass it on): no orphan left running
    const deadline = Date.now() + 5000;
    while (alive(appPid) && Date.now() < deadline) await sleep(50);
    assert.equal(alive(appPid), false, `app ${appPid} outlived rtprof run`);
  });

  it('a wrapper that exec()s node under the same pid (as taskset, env or nice do) is re-identified and its probe accepted', async () => {
    // sh first (seen as 'other'), node 300 ms later under the same pid.
    const { proc, url, appPid } = await launched(['sh', '-c', `sleep 0.3; exec ${process.execPath} ${DOWNSTREAM}`]);
    try {
      const target = await connected(url, appPid);
      assert.equal(target.runtime, 'nodejs');
      assert.equal(target.probe.method, 'preload');
      assert.equal(target.serviceName, 'server.js');
      assert.doesNotMatch(proc.stderr(), /bad_token|wrong_pid/);
      const { samples } = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
      const info = valuesOf(samples, 'rtprof_target_info', appPid);
      assert.equal(info.length, 1, 'one target for the pid, not the sh and the node one');
      assert.equal(info[0]?.labels.process_runtime_name, 'nodejs');
    } finally {
      assert.equal(await stop(proc), 0);
    }
  });

  it('a Node launcher (as npm is) whose node child is attached through the inspector', async () => {
    // The launcher's own preloaded probe takes the token out of its env, so the child it spawns
    // has no token: the agent finds it under the launched process and attaches.
    const launcher = `const c = require('child_process').spawn(process.execPath, [${JSON.stringify(DOWNSTREAM)}], { stdio: 'inherit' });
      process.on('SIGTERM', () => c.kill('SIGTERM'));
      c.on('exit', (code) => process.exit(code ?? 1));`;
    const { proc, url, appPid } = await launched([process.execPath, '-e', launcher]);
    try {
      const child = await connected(url, appPid, 20_000);
      assert.equal(child.probe.method, 'inspector');
      const targets = (await (await fetch(`${url}/api/targets`)).json()) as TargetJson[];
      const root = targets.find((t) => t.pid !== appPid && t.runtime === 'nodejs');
      assert.equal(root?.probe.method, 'preload', 'the launcher itself has the preloaded probe');
      // no debug port left open in the child
      const ss = spawnSync('ss', ['-Hltnp'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(
        ss
          .split('\n')
          .filter((l) => l.includes(`pid=${appPid},`))
          .join('\n'),
        /:9229\b/,
      );
    } finally {
      assert.equal(await stop(proc), 0);
    }
  });

  it('bad input: no command is a usage error (2); a command that does not exist is one line, exit 1', () => {
    const none = spawnSync(RTPROF, ['run', '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(none.status, 2);
    const missing = spawnSync(RTPROF, ['run', '--port', '0', '--', 'no-such-command-rtprof'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /RTPROF_ERR_LAUNCH|cannot start 'no-such-command-rtprof'/);
    assert.equal(
      missing.stderr
        .trim()
        .split('\n')
        .filter((l) => /cannot start/.test(l)).length,
      1,
    );
  });
});
