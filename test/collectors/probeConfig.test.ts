// ProbeConfig's two forms read back by the real Python probe's own config reader: the environment a
// preload sets and the start(config) object an attach passes must give the probe the same settings.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../collectors/paths';
import { ProbeConfig, type ProbeSettings } from '../../collectors/probeConfig';
import { PYTHON } from '../helpers/processes';

interface ReadConfig {
  socket: string;
  token: string;
  intervalMs: number;
  attach: string;
  attachMarker: string | null;
  giveUpS: number;
  http: boolean;
  gc: boolean;
}

/** rtprof_probe.config.read_config in a real interpreter: of the JSON given, or (none) of the environment. */
function readConfig(json: string | null, env: Record<string, string> = {}): ReadConfig {
  const script = [
    'import json, os, sys',
    'from rtprof_probe.config import read_config',
    'arg = sys.argv[1]',
    'print(json.dumps(read_config(json.loads(arg) if arg else None)))',
  ].join('\n');
  const out = execFileSync(PYTHON, ['-c', script, json ?? ''], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      PYTHONPATH: path.join(packageRoot(), 'collectors', 'python'),
      PYTHONDONTWRITEBYTECODE: '1',
      ...env,
    },
  });
  return JSON.parse(out) as ReadConfig;
}

const settings: ProbeSettings = {
  socketPath: '/tmp/rtprof-x.sock',
  token: 'k'.repeat(24),
  intervalMs: 250,
  http: false,
  gc: false,
  giveUpMs: 4500,
};

test('the preload environment and the injected object give the Python probe the same settings', () => {
  const fromEnv = readConfig(null, ProbeConfig.preload(settings).toEnv());
  const injected = readConfig(JSON.stringify(ProbeConfig.python(settings, 'gdb', '/tmp/rtprof-attach-1-ab.marker').toJSON()));
  for (const key of ['socket', 'token', 'intervalMs', 'http', 'gc'] as const) assert.equal(fromEnv[key], injected[key], key);
  assert.deepEqual(
    { socket: injected.socket, token: injected.token, intervalMs: injected.intervalMs, http: injected.http, gc: injected.gc },
    { socket: settings.socketPath, token: settings.token, intervalMs: 250, http: false, gc: false },
  );
  assert.equal(fromEnv.attach, 'preload');
  assert.equal(injected.attach, 'gdb');
  assert.equal(injected.attachMarker, '/tmp/rtprof-attach-1-ab.marker');
  // The Python probe counts its give-up time in seconds; the environment has no variable for it.
  assert.equal(injected.giveUpS, 4.5);
  assert.equal(fromEnv.giveUpS, 600);
});

test('hooks left on are not named: both forms leave the probe at its defaults', () => {
  const on: ProbeSettings = { socketPath: '/tmp/rtprof-y.sock', token: 't'.repeat(24), intervalMs: 1000 };
  assert.deepEqual(Object.keys(ProbeConfig.preload(on).toEnv()).sort(), [
    'RTPROF_ATTACH',
    'RTPROF_INTERVAL_MS',
    'RTPROF_SOCKET',
    'RTPROF_TOKEN',
  ]);
  assert.deepEqual(ProbeConfig.inspector({ ...on, giveUpMs: 2000 }).toJSON(), {
    socket: on.socketPath,
    token: on.token,
    intervalMs: 1000,
    attach: 'inspector',
    giveUpMs: 2000,
  });
  const fromEnv = readConfig(null, ProbeConfig.preload(on).toEnv());
  assert.equal(fromEnv.http, true);
  assert.equal(fromEnv.gc, true);
});
