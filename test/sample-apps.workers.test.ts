// The multi-worker entry points of the sample apps (Node cluster, gunicorn sync workers, uvicorn
// --workers) as real processes on port 0: READY carries the master's pid, WORKERS=2 gives two
// worker processes under it that both serve, /json is the reference body byte for byte, SIGTERM
// to the master stops the whole tree with exit 0, and a bad WORKERS is a usage error (exit 2).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { descendantsOf } from '../collectors/proc/tree';
import { alive, PYTHON, start, until } from './helpers/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const APPS_DIR = path.join(ROOT, 'sample-apps');
const READY_RE = /^READY pid=(\d+) port=(\d+) runtime=(nodejs|cpython)$/m;
const payload = require(path.join(APPS_DIR, 'node', 'payload.js')) as { jsonRoundTrip: () => string };
const JSON_BODY = payload.jsonRoundTrip();

function importable(modules: string): boolean {
  try {
    execFileSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One GET on a fresh connection (so a shared-socket server may hand it to any worker). */
function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

const ENTRY_POINTS = [
  { name: 'node/cluster.js', command: process.execPath, script: path.join(APPS_DIR, 'node', 'cluster.js'), needs: undefined },
  { name: 'python/gunicorn_app.py', command: PYTHON, script: path.join(APPS_DIR, 'python', 'gunicorn_app.py'), needs: 'gunicorn' },
  {
    name: 'python/uvicorn_workers.py',
    command: PYTHON,
    script: path.join(APPS_DIR, 'python', 'uvicorn_workers.py'),
    needs: 'fastapi, uvicorn',
  },
];

for (const ep of ENTRY_POINTS) {
  const missing = ep.needs !== undefined && !importable(ep.needs);
  const skip = missing ? `${PYTHON} cannot import ${ep.needs} (Debian packages; .ci/run installs them)` : false;

  test(
    `${ep.name}: WORKERS=2 serves from two worker processes under the master, SIGTERM stops the tree`,
    { skip, timeout: 60_000 },
    async () => {
      const app = start(ep.command, [ep.script], { env: { ...process.env, PORT: '0', WORKERS: '2' } });
      const m = await app.waitFor(READY_RE, 20_000);
      assert.equal(Number(m[1]), app.pid, 'READY names the master, the pid that was started');
      const port = Number(m[2]);
      // Fresh connections until both workers have answered; the master itself serves nothing.
      const servers = new Set<number>();
      await until(
        'both workers answer /healthz',
        async () => {
          const r = await get(port, '/healthz');
          servers.add((JSON.parse(r.body) as { pid: number }).pid);
          return servers.size >= 2 ? true : undefined;
        },
        30_000,
        20,
      );
      const tree = descendantsOf(app.pid);
      assert.equal(servers.size, 2, `answered by ${[...servers].join(', ')}`);
      for (const pid of servers) {
        assert.notEqual(pid, app.pid);
        assert.ok(tree.includes(pid), `worker ${pid} is a descendant of the master ${app.pid} (tree: ${tree.join(', ')})`);
      }
      const json = await get(port, '/json');
      assert.equal(json.status, 200);
      assert.equal(json.body, JSON_BODY, '/json is the reference body byte for byte');
      const missingRoute = await get(port, '/nope');
      assert.equal(missingRoute.status, 404);
      assert.deepEqual(JSON.parse(missingRoute.body), { error: 'not found' });
      assert.equal(app.stdout().match(/READY/g)?.length, 1, 'exactly one READY line (the workers print none)');

      process.kill(app.pid, 'SIGTERM'); // the master only: it must stop its workers itself
      const exit = await Promise.race([app.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      assert.deepEqual(exit, { code: 0, signal: null }, `stderr: ${app.stderr()}`);
      await until('workers gone', async () => ([...servers].every((pid) => !alive(pid)) ? true : undefined), 5_000, 100);
    },
  );

  test(`${ep.name}: WORKERS=0 is a usage error`, { skip, timeout: 20_000 }, async () => {
    const app = start(ep.command, [ep.script], { env: { ...process.env, PORT: '0', WORKERS: '0' } });
    const exit = await app.exited;
    assert.equal(exit.code, 2);
    assert.match(app.stderr(), /WORKERS must be an integer in 1-64/);
  });
}
