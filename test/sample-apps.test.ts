// The sample apps (sample-apps/) as real processes on port 0: the READY line, every endpoint over
// loopback with identical response shapes, /io really waits on the downstream socket (pooled,
// keep-alive), /cpu really burns CPU (read from /proc/PID/stat), SIGTERM exits 0.
// Processes are started in their own process groups by test/helpers/processes and killed only by
// those group ids.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { PYTHON, start, type Started } from './helpers/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const APPS_DIR = path.join(ROOT, 'sample-apps');
const READY_RE = /^READY pid=(\d+) port=(\d+) runtime=(nodejs|cpython)$/m;
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

// The reference /json body: what every app must send, byte for byte.
const payload = require(path.join(APPS_DIR, 'node', 'payload.js')) as { jsonRoundTrip: () => string };
const JSON_BODY = payload.jsonRoundTrip();

const WORK_KEYS = ['endpoint', 'cpu_ms', 'io_ms', 'iterations', 'elapsed_ms'];

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

function request(port: number, urlPath: string, opts: { agent?: http.Agent; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: opts.method ?? 'GET', agent: opts.agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function getJson(port: number, urlPath: string, agent?: http.Agent): Promise<{ reply: Reply; json: Record<string, unknown> }> {
  const reply = await request(port, urlPath, { agent });
  assert.match(String(reply.headers['content-type']), /^application\/json/, `${urlPath} content-type`);
  return { reply, json: JSON.parse(reply.body) as Record<string, unknown> };
}

/** utime + stime of the whole process, in ms (10 ms ticks). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Time the process's threads spent runnable but waiting for a CPU, in ms (schedstat, ns). */
function runqueueMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // thread exited meanwhile
    }
  }
  return ns / 1e6;
}

interface Running {
  proc: Started;
  pid: number;
  port: number;
  runtime: string;
}

async function launch(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Running> {
  const proc = start(cmd, args, { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env } });
  const m = await proc.waitFor(READY_RE, 20_000);
  return { proc, pid: Number(m[1]), port: Number(m[2]), runtime: m[3] };
}

async function stopWithSigterm(r: Running): Promise<void> {
  r.proc.kill('SIGTERM');
  const timer = setTimeout(() => r.proc.kill('SIGKILL'), 10_000);
  const { code, signal } = await r.proc.exited;
  clearTimeout(timer);
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, `exit after SIGTERM; stderr:\n${r.proc.stderr()}`);
}

let downstream: Running;
let downstreamUrl = '';

before(async () => {
  downstream = await launch(process.execPath, [path.join(APPS_DIR, 'downstream', 'server.js')]);
  downstreamUrl = `http://127.0.0.1:${downstream.port}`;
});

// (test/helpers/processes SIGKILLs whatever is left when the file ends; the last test below
// stops the downstream with SIGTERM itself.)

async function downstreamConnections(): Promise<number> {
  const { json } = await getJson(downstream.port, '/stats');
  return json.connections as number;
}

test('downstream answers /delay after the delay, rejects bad input', async () => {
  const { reply, json } = await getJson(downstream.port, '/delay?ms=40');
  assert.equal(reply.status, 200);
  assert.deepEqual(json, { delayed_ms: 40 });
  assert.ok(reply.ms >= 40, `took ${reply.ms.toFixed(1)} ms`);
  assert.equal((await request(downstream.port, '/delay?ms=-1')).status, 400);
  assert.equal((await request(downstream.port, '/nope')).status, 404);
  assert.match(downstream.proc.stdout(), /^READY pid=\d+ port=\d+ runtime=nodejs\n$/);
  assert.equal(downstream.pid, downstream.proc.pid);
});

/** Why the FastAPI/uvicorn app cannot run here ('' when it can): Debian's python3-fastapi and python3-uvicorn. */
function fastapiMissing(): string {
  try {
    execFileSync(PYTHON, ['-c', 'import fastapi, uvicorn'], { stdio: 'ignore', timeout: 30_000 });
    return '';
  } catch {
    return `${PYTHON} -c "import fastapi, uvicorn" fails (apt-get install python3-fastapi python3-uvicorn)`;
  }
}

const APPS: Array<{ name: string; cmd: string; args: string[]; runtime: string; skip?: string }> = [
  { name: 'node (fastify)', cmd: process.execPath, args: [path.join(APPS_DIR, 'node', 'server.js')], runtime: 'nodejs' },
  { name: 'python asyncio', cmd: PYTHON, args: [path.join(APPS_DIR, 'python', 'asyncio_app.py')], runtime: 'cpython' },
  { name: 'python threaded', cmd: PYTHON, args: [path.join(APPS_DIR, 'python', 'threaded_app.py')], runtime: 'cpython' },
  {
    name: 'python fastapi (uvicorn)',
    cmd: PYTHON,
    args: [path.join(APPS_DIR, 'python', 'fastapi_app.py')],
    runtime: 'cpython',
    skip: fastapiMissing(),
  },
];

for (const spec of APPS) {
  if (spec.skip) {
    describe(`sample app: ${spec.name}`, () => {
      test('all endpoints', { skip: spec.skip }, () => undefined);
    });
    continue;
  }
  describe(`sample app: ${spec.name}`, { timeout: 120_000 }, () => {
    let app: Running;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

    before(async () => {
      app = await launch(spec.cmd, spec.args, { DOWNSTREAM_URL: downstreamUrl });
    });
    after(() => {
      agent.destroy();
      app?.proc.kill('SIGKILL'); // no-op once the SIGTERM test saw it exit
    });

    test('prints exactly one READY line with its own pid, the port and the runtime', () => {
      assert.equal(app.proc.stdout(), `READY pid=${app.pid} port=${app.port} runtime=${spec.runtime}\n`);
      assert.equal(app.pid, app.proc.pid);
      assert.equal(app.runtime, spec.runtime);
      assert.ok(app.port > 0);
    });

    test('/healthz', async () => {
      const { reply, json } = await getJson(app.port, '/healthz', agent);
      assert.equal(reply.status, 200);
      assert.deepEqual(json, { status: 'ok', runtime: spec.runtime, pid: app.pid });
    });

    test('/json parses and re-serializes the ~10 KB document, byte-identical across apps', async () => {
      const { reply, json } = await getJson(app.port, '/json', agent);
      assert.equal(reply.status, 200);
      assert.ok(reply.body.length >= 8_000 && reply.body.length <= 14_000, `${reply.body.length} bytes`);
      assert.deepEqual(Object.keys(json), ['order_count', 'item_count', 'revenue_cents', 'orders']);
      assert.equal(json.order_count, (json.orders as unknown[]).length);
      assert.equal(reply.body, JSON_BODY);
    });

    test('/io?ms=60 waits ≥ 60 ms on the downstream socket and burns little CPU', async () => {
      await getJson(app.port, '/io?ms=1', agent); // open the pooled downstream connection
      const cpu0 = cpuMs(app.pid);
      const { reply, json } = await getJson(app.port, '/io?ms=60', agent);
      const cpu = cpuMs(app.pid) - cpu0;
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(Object.keys(json), WORK_KEYS);
      assert.deepEqual({ ...json, elapsed_ms: 0 }, { endpoint: 'io', cpu_ms: 0, io_ms: 60, iterations: 0, elapsed_ms: 0 });
      assert.ok((json.elapsed_ms as number) >= 60, `elapsed_ms ${json.elapsed_ms}`);
      assert.ok(reply.ms >= 60, `took ${reply.ms.toFixed(1)} ms`);
      assert.ok(reply.ms < 5_000, `took ${reply.ms.toFixed(1)} ms`);
      // An I/O wait is not CPU: allow 40 ms for request handling and tick granularity.
      assert.ok(cpu <= 40, `app used ${cpu} ms CPU during a 60 ms /io`);
    });

    test('/io reuses one pooled keep-alive connection to the downstream', async () => {
      await getJson(app.port, '/io?ms=1', agent);
      const before = await downstreamConnections();
      for (let i = 0; i < 5; i++) assert.equal((await request(app.port, '/io?ms=2', { agent })).status, 200);
      const opened = (await downstreamConnections()) - before - 1; // - the second /stats connection
      assert.equal(opened, 0, `app opened ${opened} new downstream connections for 5 sequential calls`);
    });

    test('/io does not block: 8 concurrent /io?ms=150 finish together', async () => {
      const t0 = performance.now();
      const replies = await Promise.all(Array.from({ length: 8 }, () => request(app.port, '/io?ms=150')));
      const wall = performance.now() - t0;
      for (const r of replies) assert.equal(r.status, 200, r.body);
      // Serialized would be 1200 ms; concurrent is ~150 ms plus connection set-up on a busy machine.
      assert.ok(wall < 700, `8 concurrent /io?ms=150 took ${wall.toFixed(0)} ms`);
    });

    test('/cpu?ms=50 computes for 50 ms and burns ≈ 50 ms of CPU', async (t) => {
      const warm = await getJson(app.port, '/cpu?ms=50', agent); // JIT, first-call costs
      assert.equal(warm.reply.status, 200, warm.reply.body);
      assert.deepEqual(Object.keys(warm.json), WORK_KEYS);
      const n = 4;
      const cpu0 = cpuMs(app.pid);
      const rq0 = runqueueMs(app.pid);
      let wall = 0;
      for (let i = 0; i < n; i++) {
        const { reply, json } = await getJson(app.port, '/cpu?ms=50', agent);
        assert.equal(reply.status, 200);
        assert.deepEqual(
          { ...json, iterations: 0, elapsed_ms: 0 },
          { endpoint: 'cpu', cpu_ms: 50, io_ms: 0, iterations: 0, elapsed_ms: 0 },
        );
        assert.ok((json.iterations as number) > 0);
        assert.ok((json.elapsed_ms as number) >= 50, `elapsed_ms ${json.elapsed_ms}`);
        wall += reply.ms;
      }
      const cpu = cpuMs(app.pid) - cpu0;
      const runqueue = runqueueMs(app.pid) - rq0;
      const perRequest = cpu / n;
      t.diagnostic(
        `${spec.name}: ${n}× /cpu?ms=50 → ${perRequest.toFixed(1)} ms CPU/request (utime+stime), ` +
          `${(runqueue / n).toFixed(1)} ms runqueue/request, ${(wall / n).toFixed(1)} ms wall/request`,
      );
      // Tolerance: the burn is wall-clock bound, so time spent waiting for a CPU on a loaded machine
      // (runqueue) is not CPU; utime+stime is read in ${TICK_MS} ms ticks (±1 tick per read, ×2 reads).
      // Upper: +25 ms per request for request handling, GC and the runtime's other threads.
      const lower = 0.9 * 50 - runqueue / n - (2 * TICK_MS) / n;
      const upper = 50 + 25;
      assert.ok(perRequest >= lower, `${perRequest.toFixed(1)} ms CPU per /cpu?ms=50 < ${lower.toFixed(1)}`);
      assert.ok(perRequest <= upper, `${perRequest.toFixed(1)} ms CPU per /cpu?ms=50 > ${upper}`);
    });

    test('/mixed computes then waits', async () => {
      const { reply, json } = await getJson(app.port, '/mixed?cpu_ms=20&io_ms=40', agent);
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(Object.keys(json), WORK_KEYS);
      assert.deepEqual(
        { ...json, iterations: 0, elapsed_ms: 0 },
        { endpoint: 'mixed', cpu_ms: 20, io_ms: 40, iterations: 0, elapsed_ms: 0 },
      );
      assert.ok((json.iterations as number) > 0);
      assert.ok((json.elapsed_ms as number) >= 60, `elapsed_ms ${json.elapsed_ms}`);
      assert.ok(reply.ms >= 60);
      const defaults = await getJson(app.port, '/mixed', agent);
      assert.equal(defaults.json.cpu_ms, 10);
      assert.equal(defaults.json.io_ms, 50);
    });

    test('errors: bad parameters 400, unknown paths and methods 404, same shape', async () => {
      for (const p of ['/cpu?ms=abc', '/io?ms=-5', '/cpu?ms=60001', '/mixed?cpu_ms=1.5']) {
        const { reply, json } = await getJson(app.port, p, agent);
        assert.equal(reply.status, 400, p);
        assert.deepEqual(Object.keys(json), ['error'], p);
      }
      const nf = await getJson(app.port, '/nope', agent);
      assert.equal(nf.reply.status, 404);
      assert.deepEqual(nf.json, { error: 'not found' });
      const post = await request(app.port, '/json', { method: 'POST', agent });
      assert.equal(post.status, 404);
      assert.deepEqual(JSON.parse(post.body), { error: 'not found' });
    });

    test('HTTP/1.1 keep-alive with two pipelined requests on one socket', async () => {
      const sock = net.connect(app.port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /io?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n');
      let buf = '';
      const statuses: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pipelined responses incomplete:\n${buf}`)), 10_000);
        sock.on('data', (d: Buffer) => {
          buf += d.toString('latin1');
          for (;;) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) break;
            const head = buf.slice(0, end);
            const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
            if (buf.length < end + 4 + len) break;
            statuses.push(Number(head.split(' ')[1]));
            buf = buf.slice(end + 4 + len);
          }
          if (statuses.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      assert.deepEqual(statuses, [200, 200]);
      assert.ok(!sock.destroyed, 'connection stays open');
      sock.destroy();
    });

    test('SIGTERM stops it cleanly (exit 0) with an idle keep-alive client connection open', async () => {
      const idle = net.connect(app.port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => idle.once('connect', resolve).once('error', reject));
      idle.on('error', () => undefined);
      idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((r) => idle.once('data', r));
      const t0 = performance.now();
      await stopWithSigterm(app);
      assert.ok(performance.now() - t0 < 5_000, 'stopped within 5 s');
      idle.destroy();
    });
  });
}

test('fastapi_app.py without FastAPI/uvicorn: exit 2, one line on stderr naming the apt packages', async () => {
  // -S: no site-packages, so no dist-packages: fastapi and uvicorn cannot be imported.
  const proc = start(PYTHON, ['-S', path.join(APPS_DIR, 'python', 'fastapi_app.py')], { env: { ...process.env, PORT: '0' } });
  const { code } = await proc.exited;
  assert.equal(code, 2);
  assert.equal(proc.stdout(), '');
  assert.match(proc.stderr(), /^[^\n]*apt-get install python3-fastapi python3-uvicorn\n$/);
});

// The Python apps on every CPython 3.8–3.13 pyenv has here (a smoke run each).
function pyenvPythons(): Array<{ version: string; python: string }> {
  let root = '';
  try {
    root = execFileSync('pyenv', ['root'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    root = path.join(process.env.HOME ?? '/root', '.pyenv');
  }
  const dir = path.join(root, 'versions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((v) => /^3\.(8|9|1[0-3])\.\d+$/.test(v))
    .map((version) => ({ version, python: path.join(dir, version, 'bin', 'python3') }))
    .filter((p) => existsSync(p.python));
}

const PYTHONS = pyenvPythons();
describe('python sample apps across CPython versions', { timeout: 240_000 }, () => {
  if (PYTHONS.length === 0) {
    test('pyenv CPython 3.8–3.13', { skip: 'no pyenv versions found' }, () => undefined);
    return;
  }
  for (const { version, python } of PYTHONS) {
    for (const script of ['asyncio_app.py', 'threaded_app.py']) {
      test(`CPython ${version}: ${script}`, async () => {
        const app = await launch(python, [path.join(APPS_DIR, 'python', script)], { DOWNSTREAM_URL: downstreamUrl });
        try {
          assert.equal(app.proc.stdout(), `READY pid=${app.pid} port=${app.port} runtime=cpython\n`);
          const h = await getJson(app.port, '/healthz');
          assert.deepEqual(h.json, { status: 'ok', runtime: 'cpython', pid: app.pid });
          assert.equal((await request(app.port, '/json')).body, JSON_BODY);
          const io = await getJson(app.port, '/io?ms=30');
          assert.equal(io.reply.status, 200, io.reply.body);
          assert.ok(io.reply.ms >= 30);
          const cpu = await getJson(app.port, '/cpu?ms=10');
          assert.equal(cpu.json.endpoint, 'cpu');
          assert.ok((cpu.json.iterations as number) > 0);
          assert.equal((await request(app.port, '/mixed?cpu_ms=5&io_ms=5')).status, 200);
        } finally {
          await stopWithSigterm(app);
        }
      });
    }
  }
});

test('node /offload (Node only): /cpu’s compute in a pool of POOL_SIZE worker threads, started on first use; SIGTERM exits 0', async () => {
  const app = await launch(process.execPath, [path.join(APPS_DIR, 'node', 'server.js')], { POOL_SIZE: '2' });
  const threads = (): number => readdirSync(`/proc/${app.pid}/task`).length;
  const before = threads();
  const t0 = performance.now();
  const replies = await Promise.all([1, 2, 3, 4].map(() => getJson(app.port, '/offload?ms=100')));
  const wall = performance.now() - t0;
  for (const { reply, json } of replies) {
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(json), WORK_KEYS);
    assert.equal(json.endpoint, 'offload');
    assert.equal(json.cpu_ms, 100);
    assert.ok((json.iterations as number) > 0);
  }
  // Two workers side by side: four 100 ms jobs take about 200 ms (plus worker start-up), not 400 ms
  // in a row; on a loaded 2-core machine the bound is loose.
  assert.ok(wall < 1500, `4 × 100 ms on 2 workers took ${wall.toFixed(0)} ms`);
  assert.ok(threads() >= before + 2, `threads ${before} → ${threads()}: the pool's 2 workers`);
  assert.equal((await request(app.port, '/offload?ms=x')).status, 400);
  await stopWithSigterm(app);
});

test('downstream stops cleanly on SIGTERM (exit 0)', async () => {
  await stopWithSigterm(downstream);
});
