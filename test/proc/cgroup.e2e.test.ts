// The cgroup readers on real cgroups: a Kubernetes-shaped cgroup with a 0.2-core CPU limit and a
// 256 MiB memory limit, a real process in it, and a pod's HOSTNAME and service-account namespace as
// the process itself sees them. cgroup v2 here has no controllers (hybrid host), so for v2 only the
// identity from the `0::` line is checked on a real cgroup; v2 files are unit-tested on strings.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeContainer, containerStats } from '../../collectors/proc/container';
import { identify } from '../../src/discovery';
import { TargetMeters } from '../../src/metrics/targetMeters';
import { Target } from '../../src/target';
import { canMakeCgroups, makeK8sCgroup } from '../helpers/cgroups';
import { start } from '../helpers/processes';

const skip = canMakeCgroups();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A process in its own mount namespace with a tmpfs /run holding a service-account volume laid out
 * as the kubelet does it (namespace → ..data/namespace, ..data → a timestamped directory). */
function podProcess(hostname: string, namespace: string): ReturnType<typeof start> {
  const sa = '/run/secrets/kubernetes.io/serviceaccount';
  const script = [
    'mount -t tmpfs tmpfs /run',
    `mkdir -p ${sa}/..2026_01_01 && printf %s ${namespace} > ${sa}/..2026_01_01/namespace`,
    `ln -s ..2026_01_01 ${sa}/..data && ln -s ..data/namespace ${sa}/namespace`,
    // v1 memory charges stay where pages were first touched: allocate once inside the cgroup.
    `exec ${process.execPath} -e "process.on('SIGUSR2', () => { globalThis.keep = Buffer.alloc(32 << 20, 1); console.log('ALLOCATED') }); setInterval(() => {}, 1000); console.log('READY')"`,
  ].join(' && ');
  return start('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    env: { ...process.env, HOSTNAME: hostname },
  });
}

test('a process in a k8s-shaped v1 cgroup: id, pod uid, pod name, namespace, CPU and memory limits', { skip }, async () => {
  const cg = makeK8sCgroup({ cpuQuotaUs: 20000, memoryLimitBytes: 256 * 2 ** 20 });
  const app = podProcess('web-7d9f8-x2k4q', 'shop');
  await app.waitFor(/READY/);
  cg.add(app.pid);
  app.kill('SIGUSR2');
  await app.waitFor(/ALLOCATED/);
  const info = describeContainer(app.pid);
  assert.deepEqual(info.identity, { containerId: cg.containerId, podUid: cg.podUid, podName: 'web-7d9f8-x2k4q', namespace: 'shop' });
  assert.equal(info.location?.cpu?.dir, cg.dirs.cpu);
  assert.equal(info.location?.memory?.dir, cg.dirs.memory);
  const stats = containerStats(info)!;
  assert.equal(stats.cpuLimitCores, 0.2);
  assert.equal(stats.memoryLimitBytes, 256 * 2 ** 20);
  // The kernel's own numbers, read independently: usage and the working set derived from it.
  const usage = Number(readFileSync(join(cg.dirs.memory!, 'memory.usage_in_bytes'), 'utf8'));
  assert.ok(
    stats.memoryUsageBytes! >= 32 * 2 ** 20 && Math.abs(stats.memoryUsageBytes! - usage) <= 0.1 * usage,
    `${stats.memoryUsageBytes} vs ${usage}`,
  );
  // The 32 MiB are anonymous pages, never inactive file cache: all of them are working set.
  assert.ok(stats.memoryWorkingSetBytes! >= 32 * 2 ** 20 && stats.memoryWorkingSetBytes! <= stats.memoryUsageBytes!);
  assert.ok(stats.cpu !== null, 'a limited cgroup has throttling counters');
  app.kill();
  await app.exited;
  cg.remove();
});

test('the OTLP resource and the container metrics of a target in that cgroup', { skip }, async () => {
  const cg = makeK8sCgroup({ cpuQuotaUs: 20000, memoryLimitBytes: 256 * 2 ** 20 });
  const app = start(process.execPath, ['-e', 'for (;;) {}'], { env: { ...process.env, HOSTNAME: 'api-5c6d7-abcde' } });
  cg.add(app.pid);
  await sleep(1500);
  const target = new Target(identify(app.pid)!);
  const meters = new TargetMeters(target);
  try {
    const rm = await meters.collect();
    const attrs = rm.resource.attributes;
    assert.equal(attrs['container.id'], cg.containerId);
    assert.equal(attrs['k8s.pod.uid'], cg.podUid);
    assert.equal(attrs['k8s.pod.name'], 'api-5c6d7-abcde');
    assert.equal(attrs['k8s.namespace.name'], undefined, 'no service-account volume, no namespace');
    const values = new Map<string, number>();
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) values.set(m.descriptor.name, Number(m.dataPoints[0]?.value));
    assert.equal(values.get('k8s.container.cpu.limit.current'), 0.2);
    assert.equal(values.get('k8s.container.memory.limit.current'), 256 * 2 ** 20);
    const throttled = values.get('rtprof.container.cpu.throttled.time')!;
    // Read right after collect: the counter cannot be ahead of the kernel, and is at most one period behind.
    const kernel = cg.throttledS();
    assert.ok(throttled > 0.3 && throttled <= kernel && kernel - throttled < 0.2, `${throttled} vs cpu.stat ${kernel}`);
    // cpuacct of a cgroup holding one busy process ≈ that process's CPU time (0.2 cores for ~1.5 s).
    const cpuTime = values.get('container.cpu.time')!;
    assert.ok(cpuTime > 0.15 && cpuTime < 0.6, `container.cpu.time ${cpuTime}`);
    assert.ok(values.get('rtprof.container.cpu.throttled.periods')! >= 5);
    assert.ok(values.has('container.memory.working_set') && values.has('container.memory.usage'));
  } finally {
    await meters.shutdown();
    app.kill();
    await app.exited;
    cg.remove();
  }
});

test(
  "an agent in a private cgroup namespace still finds the target's cgroups (the /../.. paths a pod on cgroup v2 sees)",
  { skip },
  async () => {
    const cg = makeK8sCgroup({ cpuQuotaUs: 20000 });
    const app = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    cg.add(app.pid);
    // The "agent": moved into a cgroup two levels below the cpu root, then into its own cgroup namespace.
    const agentCg = join(cg.dirs.cpu!.split('/kubepods/')[0]!, `rtprof-agent-${randomBytes(4).toString('hex')}`);
    mkdirSync(join(agentCg, 'ns'), { recursive: true });
    const reader = join(__dirname, '..', '..', 'collectors', 'proc', 'container.js');
    const script =
      `const c = require(${JSON.stringify(reader)}); const info = c.describeContainer(${app.pid});` +
      `console.log(JSON.stringify({ seen: require('fs').readFileSync('/proc/${app.pid}/cgroup', 'utf8'), info, stats: c.containerStats(info) }))`;
    const agent = start('sh', [
      '-c',
      `echo $$ > ${join(agentCg, 'ns', 'cgroup.procs')} && exec unshare --cgroup "$0" -e "$1"`,
      process.execPath,
      script,
    ]);
    try {
      const { code } = await agent.exited;
      assert.equal(code, 0, agent.stderr());
      const out = JSON.parse(agent.stdout()) as {
        seen: string;
        info: ReturnType<typeof describeContainer>;
        stats: ReturnType<typeof containerStats>;
      };
      const inNs = new RegExp(`^\\d+:cpu[^:]*:/\\.\\./\\.\\./kubepods/burstable/pod${cg.podUid}/${cg.containerId}$`, 'm');
      assert.match(out.seen, inNs, 'the target as the namespace sees it');
      assert.equal(out.info.identity.containerId, cg.containerId);
      assert.equal(out.info.identity.podUid, cg.podUid);
      assert.equal(out.info.location?.cpu?.dir, cg.dirs.cpu, 'same climb as the mount root');
      assert.equal(out.info.location?.memory?.dir, cg.dirs.memory, 'below our own (looked-up) memory cgroup');
      assert.equal(out.stats?.cpuLimitCores, 0.2);
    } finally {
      app.kill();
      await app.exited;
      cg.remove();
      rmdirSync(join(agentCg, 'ns'));
      rmdirSync(agentCg);
    }
  },
);

test(
  'cgroup v2: the identity comes from the 0:: line (systemd-driver containerd shape)',
  { skip: skip || !existsSync('/sys/fs/cgroup/unified/cgroup.procs') },
  async () => {
    const uid = randomUUID();
    const id = randomBytes(32).toString('hex');
    const parts = [
      'kubepods.slice',
      'kubepods-burstable.slice',
      `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`,
      `cri-containerd-${id}.scope`,
    ];
    const created: string[] = [];
    let dir = '/sys/fs/cgroup/unified';
    for (const part of parts) {
      dir = join(dir, part);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        created.push(dir);
      }
    }
    const app = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const home = /^0::(.*)$/m.exec(readFileSync(`/proc/${app.pid}/cgroup`, 'utf8'))![1]!;
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(app.pid));
      assert.match(
        readFileSync(`/proc/${app.pid}/cgroup`, 'utf8'),
        new RegExp(`^0::/kubepods\\.slice/.*cri-containerd-${id}\\.scope$`, 'm'),
      );
      const info = describeContainer(app.pid);
      assert.equal(info.identity.containerId, id);
      assert.equal(info.identity.podUid, uid);
    } finally {
      try {
        writeFileSync(join('/sys/fs/cgroup/unified', home, 'cgroup.procs'), String(app.pid));
      } catch {
        // already gone
      }
      app.kill();
      await app.exited;
      for (const d of created.reverse()) rmdirSync(d);
    }
  },
);
