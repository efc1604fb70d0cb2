// /proc/PID/cgroup and mountinfo parsing, where a cgroup's files are on the host, and the v1 and v2
// limit, throttling and memory files, on sample strings (cgroup v2 controllers are not available on
// this test machine, so v2 files are checked here and only the v2 path lookup on a real mount).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dirUnder, locateCgroups, parseCgroupMounts, parseProcCgroup } from '../../collectors/proc/cgroup';
import { parseCfsQuota, parseCpuMax, parseCpuStat, parseKeyValues, parseMemoryLimit, workingSet } from '../../collectors/proc/cgroupStats';

const MOUNTINFO_HYBRID = [
  '24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '26 24 0:24 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '27 26 0:25 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
  '28 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '29 26 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '30 26 0:28 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
].join('\n');
const MOUNTINFO_UNIFIED =
  '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

test('/proc/PID/cgroup: v1 lines carry controllers, the v2 line none; a path may contain colons', () => {
  const entries = parseProcCgroup('4:memory:/a/b\n3:cpu,cpuacct:/x:y\n1:name=systemd:/init.scope\n0::/\n\n');
  assert.deepEqual(entries, [
    { hierarchyId: 4, controllers: ['memory'], path: '/a/b' },
    { hierarchyId: 3, controllers: ['cpu', 'cpuacct'], path: '/x:y' },
    { hierarchyId: 1, controllers: ['name=systemd'], path: '/init.scope' },
    { hierarchyId: 0, controllers: [], path: '/' },
  ]);
});

test('mountinfo: cgroup v1 mounts with their controllers, the v2 mount, escaped mount points', () => {
  const mounts = parseCgroupMounts(`${MOUNTINFO_HYBRID}\n31 26 0:29 /docker/abc /mnt/with\\040space rw - cgroup cgroup rw,pids\n`);
  assert.deepEqual(
    mounts.map((m) => [m.version, m.mountPoint, m.root, m.controllers.filter((c) => c !== 'xattr').join(',')]),
    [
      [2, '/sys/fs/cgroup/unified', '/', ''],
      [1, '/sys/fs/cgroup/cpu,cpuacct', '/', 'cpu,cpuacct'],
      [1, '/sys/fs/cgroup/memory', '/', 'memory'],
      [1, '/sys/fs/cgroup/systemd', '/', 'name=systemd'],
      [1, '/mnt/with space', '/docker/abc', 'pids'],
    ],
  );
});

test('a mount of a sub-tree shows only paths below its root; paths outside the namespace are unreachable', () => {
  const [mount] = parseCgroupMounts('1 0 0:1 /kubepods/pod1 /cg rw - cgroup2 cgroup2 rw\n');
  assert.equal(dirUnder(mount!, '/kubepods/pod1/c1'), '/cg/c1');
  assert.equal(dirUnder(mount!, '/kubepods/pod1'), '/cg');
  assert.equal(dirUnder(mount!, '/kubepods/pod10/c1'), null);
  const [host] = parseCgroupMounts(MOUNTINFO_UNIFIED);
  assert.equal(dirUnder(host!, '/../../kubepods'), null);
});

test('in a private cgroup namespace: paths climbing as far as the mount root map below it; fewer climbs use our own ancestry', () => {
  // A pod's agent with the host's cgroupfs mounted in: the mount's root prints as our depth in '..'.
  const [mount] = parseCgroupMounts('1 0 0:1 /../../.. /host/cgroup rw - cgroup2 cgroup2 rw\n');
  const self = ['kubepods.slice', 'kubepods-pod1.slice', 'cri-containerd-agent.scope'];
  let asked: number | undefined;
  const findSelf = (_m: unknown, depth: number): string[] => ((asked = depth), self);
  assert.equal(dirUnder(mount!, '/../../../kubepods.slice/x.slice/c.scope', findSelf), '/host/cgroup/kubepods.slice/x.slice/c.scope');
  assert.equal(asked, undefined, 'same climb: no lookup');
  assert.equal(
    dirUnder(mount!, '/../cri-containerd-app.scope', findSelf),
    '/host/cgroup/kubepods.slice/kubepods-pod1.slice/cri-containerd-app.scope',
  );
  assert.equal(asked, 3);
  assert.equal(
    dirUnder(mount!, '/../sibling', () => null),
    null,
    'our own cgroup not found: unreachable',
  );
  assert.equal(dirUnder(mount!, '/../../../../above', findSelf), null, 'above the mount root');
});

test('hybrid host: cpu and memory come from their v1 hierarchies, not the controller-less v2 tree', () => {
  const entries = parseProcCgroup('4:memory:/kubepods/p/c\n3:cpu,cpuacct:/kubepods/p/c\n0::/system.slice/x.service\n');
  const loc = locateCgroups(entries, parseCgroupMounts(MOUNTINFO_HYBRID));
  assert.deepEqual(loc.cpu, { version: 1, dir: '/sys/fs/cgroup/cpu,cpuacct/kubepods/p/c', mountPoint: '/sys/fs/cgroup/cpu,cpuacct' });
  assert.equal(loc.cpuacct?.dir, '/sys/fs/cgroup/cpu,cpuacct/kubepods/p/c');
  assert.equal(loc.memory?.dir, '/sys/fs/cgroup/memory/kubepods/p/c');
});

test('unified host: every controller is the one v2 directory', () => {
  const loc = locateCgroups(parseProcCgroup('0::/kubepods.slice/k.slice/c.scope\n'), parseCgroupMounts(MOUNTINFO_UNIFIED));
  for (const cg of [loc.cpu, loc.cpuacct, loc.memory]) {
    assert.deepEqual(cg, { version: 2, dir: '/sys/fs/cgroup/kubepods.slice/k.slice/c.scope', mountPoint: '/sys/fs/cgroup' });
  }
  assert.equal(locateCgroups(parseProcCgroup('0::/x\n'), []).cpu, null, 'no mount, no directory');
  const atRoot = locateCgroups(parseProcCgroup('0::/\n'), parseCgroupMounts(MOUNTINFO_UNIFIED));
  assert.equal(atRoot.memory, null, 'the root cgroup is the whole host, not a container');
  const hybridRoot = locateCgroups(parseProcCgroup('3:cpu,cpuacct:/\n4:memory:/a\n0::/b\n'), parseCgroupMounts(MOUNTINFO_HYBRID));
  assert.equal(hybridRoot.cpu, null);
  assert.equal(hybridRoot.memory?.dir, '/sys/fs/cgroup/memory/a');
});

test('CPU limits: v2 cpu.max and v1 quota/period in cores; unlimited is null', () => {
  assert.equal(parseCpuMax('20000 100000\n'), 0.2);
  assert.equal(parseCpuMax('150000 100000\n'), 1.5);
  assert.equal(parseCpuMax('max 100000\n'), null);
  assert.equal(parseCfsQuota('20000\n', '100000\n'), 0.2);
  assert.equal(parseCfsQuota('-1\n', '100000\n'), null);
  assert.equal(parseCfsQuota('garbage', '100000'), null);
});

test('cpu.stat: v1 throttled_time is ns, v2 throttled_usec is µs', () => {
  const v1 = 'nr_periods 41\nnr_throttled 27\nthrottled_time 685055941\nnr_bursts 0\nburst_time 0\n';
  assert.deepEqual(parseCpuStat(v1, 1), { periods: 41, throttledPeriods: 27, throttledS: 0.685055941 });
  const v2 =
    'usage_usec 9512361\nuser_usec 9300000\nsystem_usec 212361\nnr_periods 120\nnr_throttled 96\nthrottled_usec 7611234\nnr_bursts 0\nburst_usec 0\n';
  assert.deepEqual(parseCpuStat(v2, 2), { periods: 120, throttledPeriods: 96, throttledS: 7.611234 });
  assert.equal(parseKeyValues(v2).get('usage_usec'), 9512361);
});

test('memory: v2 "max" and v1 LONG_MAX-per-page are unlimited; working set is usage − inactive file', () => {
  assert.equal(parseMemoryLimit('max\n'), null);
  assert.equal(parseMemoryLimit('9223372036854771712\n'), null);
  assert.equal(parseMemoryLimit('268435456\n'), 268435456);
  const v1 = parseKeyValues('cache 1000\ninactive_file 10\ntotal_inactive_file 4096\n');
  assert.equal(workingSet(10_000, v1, 1), 10_000 - 4096);
  const v2 = parseKeyValues('anon 5000\nfile 4000\ninactive_file 3000\nactive_file 1000\n');
  assert.equal(workingSet(10_000, v2, 2), 7000);
  assert.equal(workingSet(100, v2, 2), 0, 'never negative');
});
