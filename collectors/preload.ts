// The environment that makes a launched service load its probe at start (`rtprof run`).
import { delimiter } from 'node:path';
import { probePath } from './node/attach';
import { PYTHON_PRELOAD_DIR } from './paths';

export interface PreloadConfig {
  socketPath: string;
  token: string;
  intervalMs: number;
  /** false: the probes do not hook HTTP servers (the agent's default; `--http` turns them on) */
  http?: boolean;
  /** false: the probes do not watch GC pauses (`--no-gc-pauses`) */
  gc?: boolean;
}

/**
 * Both runtimes' hooks are set whatever the command is: `npm start` or a shell script may start
 * node or python underneath. The Python hook acts only when RTPROF_SOCKET is set.
 */
export function preloadEnv(base: NodeJS.ProcessEnv, cfg: PreloadConfig): NodeJS.ProcessEnv {
  const require = `--require ${JSON.stringify(probePath())}`;
  const pythonPreload = PYTHON_PRELOAD_DIR();
  return {
    ...base,
    RTPROF_SOCKET: cfg.socketPath,
    RTPROF_TOKEN: cfg.token,
    RTPROF_INTERVAL_MS: String(cfg.intervalMs),
    RTPROF_ATTACH: 'preload',
    ...(cfg.http === false ? { RTPROF_HTTP: '0' } : {}),
    ...(cfg.gc === false ? { RTPROF_GC: '0' } : {}),
    NODE_OPTIONS: base.NODE_OPTIONS ? `${require} ${base.NODE_OPTIONS}` : require,
    PYTHONPATH: base.PYTHONPATH ? `${pythonPreload}${delimiter}${base.PYTHONPATH}` : pythonPreload,
  };
}
