// Attaching to targets in their own namespaces, as a sidecar or a hostPID DaemonSet meets them: a
// private /tmp (mount namespace), and separate network + mount namespaces. The rtprof agent (the
// real CLI) must put the probe inside the target's own filesystem (the test hides the package's
// collectors/ from the target, so only the placed copy can load), reach a Node inspector inside the
// target's network namespace and close it again, and report the target's known 120 ms loop block
// and its GCs. What cannot work says so in one coded line within 5 s.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, parsePrometheus, rtprof, startAgent, valuesOf } from '../helpers/agent';
import type { RunningAgent } from '../helpers/agent';
import { sleep, start, until } from '../helpers/processes';
import type { Started } from '../helpers/processes';
import { nodeBinary, nodeFixture } from '../helpers/spawn';
import { fixture } from '../fixtures/python/harness';

const BLOCK_MS = 120;
const TOLERANCE_MS = 10;
const NODE_MAJORS = [18, 20, 22];
const PYTHON_MINORS = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13'];

interface Mode {
  name: string;
  unshare: string[];
  before: string;
}

const MODES: Mode[] = [
  { name: 'private-tmp', unshare: ['--mount', '--propagation', 'private'], before: '' },
  { name: 'netns+mntns', unshare: ['--net', '--mount', '--propagation', 'private'], before: 'ip link set lo up && ' },
  // A pod beside a hostPID DaemonSet: its own pid namespace too (the target is pid 1 in it).
  {
    name: 'pidns+netns+mntns',
    unshare: ['--pid', '--fork', '--mount-proc', '--net', '--mount', '--propagation', 'private'],
    before: 'ip link set lo up && ',
  },
];

interface InNamespaces {
  p: Started;
  /** The target's pid as the agent sees it (with --fork, unshare's child). */
  pid: number;
}

/** Waits for "ready" and finds the target's pid in our pid namespace. */
async function ready(p: Started, mode: Mode): Promise<InNamespaces> {
  await p.waitFor(/^ready/m);
  if (!mode.unshare.includes('--fork')) return { p, pid: p.pid };
  const children = fs.readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  assert.equal(children.length, 1, `unshare --fork has one child: ${children.join(' ')}`);
  return { p, pid: children[0]! };
}

const isRoot = process.getuid?.() === 0;

/** pyenv's newest build of each minor; a minor that is not installed is reported and skipped. */
function pythonOf(minor: string): string | undefined {
  let root: string;
  try {
    root = execFileSync('pyenv', ['root'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  const dir = path.join(root, 'versions');
  const v = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    .filter((d) => d.startsWith(minor + '.'))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))
    .pop();
  const bin = v ? path.join(dir, v, 'bin', 'python3') : '';
  return bin && fs.existsSync(bin) ? bin : undefined;
}

/**
 * exe + args in new namespaces with a tmpfs over /tmp and over the package's collectors/ (so the
 * target sees neither the agent's socket nor its probe files). unshare execs sh, sh execs the
 * target: the pid we get is the target's.
 */
function startInNamespaces(mode: Mode, exe: string, args: string[], extraMounts = ''): Started {
  const collectors = path.join(ROOT, 'collectors');
  const script = `${mode.before}mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs ${collectors} ${extraMounts}&& exec "$0" "$@"`;
  return start('unshare', [...mode.unshare, 'sh', '-c', script, exe, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, BLOCK_MS: String(BLOCK_MS) },
  });
}

/**
 * TCP sockets the target holds that listen on `port`, from its network namespace's own table
 * (/proc/PID/net/tcp*) and its fds: a target sharing the host's namespace sees other processes'
 * listeners there too.
 */
function listenersOnPort(pid: number, port: number): number {
  const own = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) own.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const file of ['tcp', 'tcp6']) {
    const text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && parseInt(cols[1]!.split(':')[1]!, 16) === port && own.has(cols[9]!)) n++;
    }
  }
  return n;
}

async function pong(target: Started): Promise<void> {
  const before = (target.stdout().match(/^pong \d+$/gm) ?? []).length;
  target.child.stdin!.write('ping\n');
  await until('pong', async () => ((target.stdout().match(/^pong \d+$/gm) ?? []).length > before ? true : undefined), 5000, 50);
}

interface Seen {
  delayMaxMs: number[];
  gcPauses: number;
}

/** Scrapes once a second for `scrapes` seconds; each new interval's loop delay max, and the GC pauses counted. */
async function watchMetrics(agent: RunningAgent, pid: number, runtime: 'nodejs' | 'cpython', scrapes: number): Promise<Seen> {
  const delayName = runtime === 'nodejs' ? 'nodejs_eventloop_delay_max_seconds' : 'rtprof_python_eventloop_delay_max_seconds';
  const gcName = runtime === 'nodejs' ? 'v8js_gc_duration_seconds_count' : 'cpython_gc_duration_seconds_count';
  const delayMaxMs: number[] = [];
  let gcPauses = 0;
  let last: number | undefined;
  for (let i = 0; i < scrapes; i++) {
    await sleep(1000);
    const { samples } = parsePrometheus(await agent.scrape());
    const d = valuesOf(samples, delayName, pid)[0]?.value;
    if (d !== undefined && d !== last) delayMaxMs.push(d * 1000);
    last = d;
    gcPauses = valuesOf(samples, gcName, pid).reduce((sum, s) => sum + s.value, 0);
  }
  return { delayMaxMs, gcPauses };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface ProbeInfo {
  pid: number;
  probe: { state: string; method: string; message: string | null };
}

async function probeOf(agent: RunningAgent, pid: number): Promise<ProbeInfo['probe']> {
  const list = (await (await agent.get('/api/targets')).json()) as ProbeInfo[];
  return list.find((t) => t.pid === pid)!.probe;
}

/** Both namespace shapes of one runtime version under one agent: every check the brief names. */
async function checkVersion(
  t: { diagnostic: (s: string) => void },
  runtime: 'nodejs' | 'cpython',
  exe: string,
  script: string,
): Promise<void> {
  const started = MODES.map((mode) => ({ mode, p: startInNamespaces(mode, exe, [script]) }));
  const targets: Array<InNamespaces & { mode: Mode }> = [];
  for (const { mode, p } of started) targets.push({ mode, ...(await ready(p, mode)) });
  const agent = await startAgent(['--interval', '1s', ...targets.flatMap(({ pid }) => ['--pid', String(pid)])]);
  try {
    for (const { mode, pid } of targets) {
      const probe = await until(
        `probe of ${mode.name} target connected`,
        async () => {
          const probe = await probeOf(agent, pid);
          return probe.state === 'connected' || probe.state === 'failed' ? probe : undefined;
        },
        30_000,
        200,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nagent stderr:\n${agent.stderr()}`);
      });
      assert.equal(probe.state, 'connected', `${mode.name}: ${probe.message}`);
      assert.equal(probe.method, runtime === 'nodejs' ? 'inspector' : 'gdb');
      assert.match(
        agent.stderr(),
        new RegExp(`target ${pid} is in another mount/pid namespace: its probe connects to /tmp/rtprof-\\d+-[0-9a-f]+/agent\\.sock`),
      );
    }
    const seen = await Promise.all(targets.map(({ pid }) => watchMetrics(agent, pid, runtime, 6)));
    for (const [i, { mode, p, pid }] of targets.entries()) {
      const { delayMaxMs, gcPauses } = seen[i]!;
      const blocked = delayMaxMs.filter((m) => m > 50);
      t.diagnostic(`${mode.name}: loop delay max per interval ${delayMaxMs.map((m) => m.toFixed(1)).join(', ')} ms; GC pauses ${gcPauses}`);
      assert.ok(blocked.length >= 2, `${mode.name}: too few intervals with the block: ${delayMaxMs.join(', ')}`);
      const typical = median(blocked);
      assert.ok(
        Math.abs(typical - BLOCK_MS) <= TOLERANCE_MS,
        `${mode.name}: loop delay max ${typical.toFixed(1)} ms, want ${BLOCK_MS} ± ${TOLERANCE_MS} (all: ${delayMaxMs.join(', ')})`,
      );
      assert.ok(gcPauses > 0, `${mode.name}: no GC pause seen`);
      assert.equal(
        listenersOnPort(pid, 9229),
        0,
        `${mode.name}: an inspector is left listening in the target's network namespace; agent: ${agent.stderr()}; target: ${p.stderr()}`,
      );
      await pong(p);
    }
  } finally {
    await agent.stop();
  }
  for (const { mode, p, pid } of targets) {
    const left = fs.readdirSync(`/proc/${pid}/root/tmp`).filter((n) => n.startsWith('rtprof-'));
    assert.deepEqual(left, [], `${mode.name}: the agent left ${left.join(', ')} in the target's /tmp`);
    await pong(p); // the agent going away leaves it running and answering
    p.kill();
    await p.exited;
  }
}

describe('attach across namespaces', { skip: isRoot ? false : 'needs root to make namespaces' }, () => {
  for (const major of NODE_MAJORS) {
    it(`Node ${major}: private /tmp; own network + mount namespaces; own pid namespace too`, async (t) => {
      const node = await nodeBinary(major);
      if ('skip' in node) return t.skip(node.skip);
      await checkVersion(t, 'nodejs', node.path, nodeFixture('ns-target.cjs'));
    });
  }
  for (const minor of PYTHON_MINORS) {
    it(`CPython ${minor}: private /tmp; own network + mount namespaces; own pid namespace too`, async (t) => {
      const python = pythonOf(minor);
      if (!python) return t.skip(`CPython ${minor} is not installed under pyenv`);
      await checkVersion(t, 'cpython', python, fixture('ns_target.py'));
    });
  }

  it('a target with nowhere writable for the probe: one coded line within 5 s, and a /proc-only report (exit 0)', async () => {
    const ro = 'mount -o remount,ro /tmp && mount -t tmpfs -o ro tmpfs /dev/shm ';
    const target = startInNamespaces(MODES[0]!, process.execPath, [nodeFixture('ns-target.cjs')], `&& ${ro}`);
    await target.waitFor(/^ready/m);
    const began = Date.now();
    const cli = rtprof(['profile', '--pid', String(target.pid), '--duration', '1s']);
    const [line] = await cli.waitFor(/^rtprof: no probe \(RTPROF_ERR_NS_READONLY\): .*$/m, 5000);
    assert.ok(Date.now() - began <= 5000, `the line came after ${Date.now() - began} ms`);
    assert.match(line!, /no writable \/tmp or \/dev\/shm .*mount an emptyDir at \/tmp/);
    const exit = await cli.exited;
    assert.equal(exit.code, 0);
    assert.match(cli.stdout(), /\/proc only/);
    assert.equal(cli.stderr().match(/pending/), null, 'never "pending"');
    await pong(target);
    target.kill();
  });

  it('an agent without CAP_SYS_PTRACE and a target of another user: one coded line within 5 s', async (t) => {
    if (!fs.existsSync('/usr/sbin/capsh') || !fs.existsSync('/usr/bin/setpriv')) return t.skip('capsh/setpriv not installed');
    const target = startInNamespaces(MODES[0]!, '/usr/bin/setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      nodeFixture('ns-target.cjs'),
    ]);
    await target.waitFor(/^ready/m);
    const began = Date.now();
    const cli = start('/usr/sbin/capsh', [
      '--drop=cap_sys_ptrace',
      '--',
      '-c',
      `exec ${path.join(ROOT, 'bin', 'rtprof.js')} profile --pid ${target.pid} --duration 1s`,
    ]);
    const [line] = await cli.waitFor(/^rtprof: no probe \(RTPROF_ERR_NS_ACCESS\): .*$/m, 5000);
    assert.ok(Date.now() - began <= 5000, `the line came after ${Date.now() - began} ms`);
    assert.match(line!, /run the agent as root with CAP_SYS_PTRACE/);
    assert.equal((await cli.exited).code, 0);
    await pong(target);
    target.kill();
  });

  it('an agent in a user namespace of its own (rootless): one coded line within 5 s', async () => {
    const target = start(
      '/usr/bin/setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, nodeFixture('ns-target.cjs')],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    await target.waitFor(/^ready/m);
    const began = Date.now();
    const cli = start('unshare', [
      '--user',
      '--map-root-user',
      path.join(ROOT, 'bin', 'rtprof.js'),
      'profile',
      '--pid',
      String(target.pid),
      '--duration',
      '1s',
    ]);
    const [line] = await cli.waitFor(/^rtprof: no probe \(RTPROF_ERR_NS_USER\): .*$/m, 5000);
    assert.ok(Date.now() - began <= 5000, `the line came after ${Date.now() - began} ms`);
    assert.match(line!, /run the agent in the host's user namespace/);
    assert.equal((await cli.exited).code, 0);
    await pong(target);
    target.kill();
  });
});
