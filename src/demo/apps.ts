// Starting the bundled sample services (sample-apps/) as real processes: used by `rtprof demo`
// and the showdown benchmark. Each prints `READY pid=<pid> port=<port> runtime=<r>` when ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../collectors/paths';

export type SampleApp = 'downstream' | 'node' | 'python-asyncio' | 'python-threaded' | 'python-fastapi';

export interface RunningApp {
  name: SampleApp;
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** ms from spawn to the READY line */
  readyMs: number;
  stop: () => Promise<void>;
}

export function appCommand(name: SampleApp, python = '/usr/bin/python3'): string[] {
  const dir = join(packageRoot(), 'sample-apps');
  switch (name) {
    case 'downstream':
      return [process.execPath, join(dir, 'downstream', 'server.js')];
    case 'node':
      return [process.execPath, join(dir, 'node', 'server.js')];
    case 'python-asyncio':
      return [python, join(dir, 'python', 'asyncio_app.py')];
    case 'python-threaded':
      return [python, join(dir, 'python', 'threaded_app.py')];
    case 'python-fastapi': // needs Debian's python3-fastapi and python3-uvicorn (exits 2 without them)
      return [python, join(dir, 'python', 'fastapi_app.py')];
  }
}

export function startApp(name: SampleApp, env: NodeJS.ProcessEnv = {}, opts: { python?: string; port?: number } = {}): Promise<RunningApp> {
  const [cmd, ...args] = appCommand(name, opts.python);
  const t0 = performance.now();
  // Own process group: stop() reaches the app and anything it started.
  const child = spawn(cmd!, args, {
    env: { ...process.env, PORT: String(opts.port ?? 0), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not print READY within 15 s`)), 15_000);
    child.once('error', (err) => reject(new Error(`cannot start ${name}: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${out.trim()}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY pid=(\d+) port=(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      const port = Number(m[2]);
      resolve({
        name,
        child,
        pid: child.pid!,
        port,
        url: `http://127.0.0.1:${port}`,
        readyMs: performance.now() - t0,
        stop: () => stopApp(child),
      });
    });
  });
}

function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      resolve();
    }
  });
}
