// The packed package is complete: the container image's install steps (deploy/image/install-runtime.sh
// on `npm pack`'s tarball, production dependencies only) run on a clean directory, and the CLI
// installed there lists processes and attaches real probes to a Node and a CPython process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './helpers/agent';
import { PYTHON, start, type Started } from './helpers/processes';
import { requireTool } from './helpers/tools';

let dir = '';
let installed = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtprof-package-'));
  // --ignore-scripts: the test runs from the dist/ that `npm test` just compiled; packing with the
  // prepare script would recompile it underneath the running suite.
  const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--loglevel=error'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  }).trim();
  installed = join(dir, 'rtprof');
  execFileSync(join(ROOT, 'deploy/image/install-runtime.sh'), [join(dir, tarball), join(ROOT, 'package-lock.json'), installed], {
    stdio: 'pipe',
    timeout: 120_000,
  });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The installed CLI, run through its shebang from the clean directory, as the image's ENTRYPOINT does. */
function installedCli(args: string[]): Started {
  return start(join(installed, 'bin', 'rtprof.js'), args, { cwd: dir });
}

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = installedCli(args);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(root, join(entry.parentPath, entry.name)));
  }
  return out;
}

test('the package ships every uncompiled probe file, the compiled code and no tests', () => {
  const probes = filesUnder(join(ROOT, 'collectors')).filter((f) => !f.endsWith('.ts') && !/(^|\/)__pycache__\//.test(f));
  assert.ok(probes.length >= 4, `found the probe files: ${probes.join(', ')}`);
  for (const file of probes) assert.ok(existsSync(join(installed, 'collectors', file)), `collectors/${file} is in the package`);
  for (const file of ['dist/src/cli.js', 'dist/exporters/prometheus.js', 'dist/collectors/node/attach.js', 'bin/rtprof.js']) {
    assert.ok(existsSync(join(installed, file)), `${file} is in the package`);
  }
  assert.equal(existsSync(join(installed, 'dist', 'test')), false, 'compiled tests stay out of the package');
  assert.equal(existsSync(join(installed, 'node_modules', 'typescript')), false, 'devDependencies stay out');
});

test('the installed CLI: --help, the image default command parses, ps lists a Node child', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /rtprof agent/);
  // The Dockerfile's CMD; --help after the flags makes the real parser check them without serving.
  const cmd = await run(['agent', '--discover', '--host', '0.0.0.0', '--help']);
  assert.equal(cmd.code, 0, cmd.stderr);
  const node = start(process.execPath, ['-e', 'setInterval(()=>{},100);console.log("ready")']);
  await node.waitFor(/ready/);
  const ps = await run(['ps', '--json']);
  assert.equal(ps.code, 0, ps.stderr);
  const rows = JSON.parse(ps.stdout) as Array<{ pid: number; runtime: string }>;
  assert.equal(rows.find((r) => r.pid === node.pid)?.runtime, 'nodejs', ps.stdout);
  node.kill();
});

interface ProfileJson {
  target: { pid: number; runtime: string; attach: string };
  window: { durationS: number };
  gc: unknown;
  eventLoop: unknown;
}

async function profile(pid: number): Promise<ProfileJson> {
  const p = await run(['profile', '--pid', String(pid), '--duration', '2s', '--json']);
  assert.equal(p.code, 0, p.stderr);
  const doc = JSON.parse(p.stdout) as ProfileJson;
  assert.equal(doc.target.pid, pid);
  // ± 0.5 s: the window starts once the probe is in and ends on the last whole interval.
  assert.ok(Math.abs(doc.window.durationS - 2) <= 0.5, `window ${doc.window.durationS} s ≈ 2 s`);
  return doc;
}

test('the installed CLI attaches its own probe to a running Node process (inspector)', async () => {
  const node = start(process.execPath, ['-e', 'setInterval(()=>{},100);console.log("ready")']);
  await node.waitFor(/ready/);
  const doc = await profile(node.pid);
  assert.equal(doc.target.runtime, 'nodejs');
  assert.equal(doc.target.attach, 'inspector');
  assert.ok(doc.eventLoop !== null && doc.gc !== null, 'the probe reported event loop and GC');
  node.kill();
});

test('the installed CLI attaches its own probe to a running CPython process (gdb)', async () => {
  requireTool('gdb', 'gdb');
  const py = start(PYTHON, ['-u', '-c', 'import time\nprint("ready")\nwhile True: time.sleep(0.05)']);
  await py.waitFor(/ready/);
  const doc = await profile(py.pid);
  assert.equal(doc.target.runtime, 'cpython');
  assert.equal(doc.target.attach, 'gdb');
  assert.ok(doc.gc !== null, 'the probe reported GC');
  py.kill();
});
