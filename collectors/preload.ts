// The environment that makes a launched service load its probe at start (`rtprof run`).
import { delimiter } from 'node:path';
import { probePath } from './node/attach';
import { PYTHON_PRELOAD_DIR } from './paths';
import { ProbeConfig, type ProbeSettings } from './probeConfig';

/**
 * Both runtimes' hooks are set whatever the command is: `npm start` or a shell script may start
 * node or python underneath. The Python hook acts only when RTPROF_SOCKET is set.
 */
export function preloadEnv(base: NodeJS.ProcessEnv, settings: ProbeSettings): NodeJS.ProcessEnv {
  const require = `--require ${JSON.stringify(probePath())}`;
  const pythonPreload = PYTHON_PRELOAD_DIR();
  return {
    ...base,
    ...ProbeConfig.preload(settings).toEnv(),
    NODE_OPTIONS: base.NODE_OPTIONS ? `${require} ${base.NODE_OPTIONS}` : require,
    PYTHONPATH: base.PYTHONPATH ? `${pythonPreload}${delimiter}${base.PYTHONPATH}` : pythonPreload,
  };
}
