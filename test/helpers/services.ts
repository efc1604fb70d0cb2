// Starts the service fixtures (test/fixtures/services) as users run them: gunicorn, uvicorn, a Node
// cluster, stdlib thread servers, a Node worker_threads pool. Each runs in its own process group
// (processes.ts), answers /work?cpu_ms=C&io_ms=W, and is ready once every worker answered.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './agent';
import { PYTHON, start, sleep, type Started } from './processes';
import { killTree, treePids } from './processTree';
import { getJson } from './serviceTruth';
import { requireTool } from './tools';

export const SERVICE_FIXTURES = join(ROOT, 'test', 'fixtures', 'services');

export type Shape = 'gunicorn-sync' | 'uvicorn' | 'node-cluster' | 'threading' | 'thread-pool' | 'gunicorn-gthread' | 'node-worker-threads';

export interface ShapeSpec {
  shape: Shape;
  runtime: 'cpython' | 'nodejs';
  /** Worker processes under the root (0: the root serves requests itself). */
  workers: number;
  /**
   * Concurrent clients. The truth (serviceTruth.ts) holds only while no request waits for anything
   * but its downstream, so: 2 where each request has an executor of its own (2 sync workers, 2 pool
   * threads with the Node main thread only waiting); 1 where two requests would queue behind each
   * other's spin (one event loop per worker, which uvicorn and cluster may both hand a second
   * connection) or share the GIL (Python threads).
   */
  clients: number;
  /** The root's main thread accepts every connection and hands it to a worker (Node cluster's round-robin). */
  rootAccepts?: boolean;
  /** The main thread handles every request a helper thread computes (serviceTruth.ts PathOptions). */
  mainOnPath?: boolean;
}

export const SHAPES: ShapeSpec[] = [
  { shape: 'gunicorn-sync', runtime: 'cpython', workers: 2, clients: 2 },
  { shape: 'uvicorn', runtime: 'cpython', workers: 2, clients: 1 },
  { shape: 'node-cluster', runtime: 'nodejs', workers: 2, clients: 1, rootAccepts: true },
  { shape: 'threading', runtime: 'cpython', workers: 0, clients: 1 },
  { shape: 'thread-pool', runtime: 'cpython', workers: 0, clients: 1 },
  { shape: 'gunicorn-gthread', runtime: 'cpython', workers: 1, clients: 1 },
  { shape: 'node-worker-threads', runtime: 'nodejs', workers: 0, clients: 2, mainOnPath: true },
];

export interface RunningService {
  spec: ShapeSpec;
  proc: Started;
  root: number;
  base: string;
  /** The worker processes that serve requests (not helpers such as multiprocessing's resource tracker). */
  workers: number[];
  stop: () => void;
}

/** Whether `rtprof profile` may attach gdb to a Python service it did not start: root, or Yama's
 * ptrace_scope 0 (with 1, only a parent may trace a process). */
export function canAttachToPython(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'latin1').trim() === '0';
  } catch {
    return true; // no Yama: ordinary same-user ptrace rules
  }
}

/** A port free right now (uvicorn --workers logs the port it was given, not the one it got). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function requirePythonModules(modules: string[], debianPackages: string): void {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${PYTHON} cannot import ${modules.join(', ')}: apt-get install -y ${debianPackages} (bash .ci/run installs them)`);
}

const all = (text: string, re: RegExp): number[] => [...text.matchAll(re)].map((m) => Number(m[1]));

async function launch(spec: ShapeSpec, env: NodeJS.ProcessEnv): Promise<{ proc: Started; port: number; workers: number[] }> {
  const opts = { env, cwd: SERVICE_FIXTURES };
  switch (spec.shape) {
    case 'gunicorn-sync':
    case 'gunicorn-gthread': {
      const gunicorn = requireTool('gunicorn', 'gunicorn');
      const kind = spec.shape === 'gunicorn-sync' ? ['-k', 'sync', '-w', '2'] : ['-k', 'gthread', '--threads', '4', '-w', '1'];
      const proc = start(gunicorn, [...kind, '-b', '127.0.0.1:0', 'wsgi_app:app'], opts);
      const [, port] = await proc.waitFor(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/);
      await proc.waitFor(new RegExp(`(Booting worker with pid: \\d+[\\s\\S]*){${spec.workers}}`));
      return { proc, port: Number(port), workers: all(proc.stderr(), /Booting worker with pid: (\d+)/g) };
    }
    case 'uvicorn': {
      requirePythonModules(['uvicorn', 'fastapi'], 'python3-uvicorn python3-fastapi');
      const port = await freePort();
      const args = ['-m', 'uvicorn', 'asgi_app:app', '--workers', '2', '--host', '127.0.0.1', '--port', String(port), '--no-access-log'];
      const proc = start(PYTHON, args, opts);
      await proc.waitFor(/(Application startup complete[\s\S]*){2}/, 30_000);
      return { proc, port, workers: all(proc.stderr(), /Started server process \[(\d+)\]/g) };
    }
    case 'node-cluster': {
      const proc = start(process.execPath, [join(SERVICE_FIXTURES, 'cluster.cjs')], opts);
      const [, port, workers] = await proc.waitFor(/READY pid=\d+ port=(\d+) workers=([\d,]+)/);
      return { proc, port: Number(port), workers: workers!.split(',').map(Number) };
    }
    case 'node-worker-threads': {
      const proc = start(process.execPath, [join(SERVICE_FIXTURES, 'worker_pool.cjs')], opts);
      const [, port] = await proc.waitFor(/READY pid=\d+ port=(\d+)/);
      return { proc, port: Number(port), workers: [] };
    }
    case 'threading':
    case 'thread-pool': {
      const kind = spec.shape === 'threading' ? 'threading' : 'pool';
      const proc = start(PYTHON, [join(SERVICE_FIXTURES, 'http_servers.py'), kind], opts);
      const [, port] = await proc.waitFor(/READY pid=\d+ port=(\d+)/);
      return { proc, port: Number(port), workers: [] };
    }
  }
}

/** Starts a shape against the downstream and waits until it answers /healthz. */
export async function startService(spec: ShapeSpec, downstreamUrl: string): Promise<RunningService> {
  const env = { ...process.env, DOWNSTREAM_URL: downstreamUrl, PYTHONDONTWRITEBYTECODE: '1' };
  const { proc, port, workers } = await launch(spec, env);
  const base = `http://127.0.0.1:${port}`;
  const service: RunningService = { spec, proc, root: proc.pid, base, workers, stop: () => killTree(proc.pid) };
  try {
    if (workers.length !== spec.workers) throw new Error(`${spec.shape}: expected ${spec.workers} workers, saw ${workers.join(',')}`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await getJson(`${base}/healthz`).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${spec.shape} never answered ${base}/healthz:\n${proc.stderr()}`);
      await sleep(100);
    }
    const tree = treePids(proc.pid);
    for (const w of workers)
      if (!tree.includes(w)) throw new Error(`${spec.shape}: worker ${w} is not under ${proc.pid} (${tree.join(',')})`);
  } catch (err) {
    service.stop();
    throw err;
  }
  return service;
}
