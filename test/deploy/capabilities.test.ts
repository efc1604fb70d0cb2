// The sidecar's capabilities are enough: the real CLI, holding only a container runtime's default
// capabilities plus those deploy/kubernetes/sidecar.yaml adds, attaches its probe to a CPython and
// a Node process in their own mount namespace (an app container beside the agent, same network
// namespace, as in a pod).
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ROOT, RTPROF } from '../helpers/agent';
import { PYTHON, start } from '../helpers/processes';
import { requireTool } from '../helpers/tools';

/** What Docker and containerd give a container unless told otherwise. */
const RUNTIME_DEFAULT_CAPS = [
  'chown',
  'dac_override',
  'fsetid',
  'fowner',
  'mknod',
  'net_raw',
  'setgid',
  'setuid',
  'setfcap',
  'setpcap',
  'net_bind_service',
  'sys_chroot',
  'kill',
  'audit_write',
];

function sidecarCaps(): string[] {
  const doc = parse(readFileSync(join(ROOT, 'deploy/kubernetes/sidecar.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ image: string; securityContext?: { capabilities?: { add?: string[] } } }> } } };
  };
  const agent = doc.spec.template.spec.containers.find((c) => /(^|\/)rtprof:/.test(c.image))!;
  return (agent.securityContext?.capabilities?.add ?? []).map((c) => c.toLowerCase());
}

/** The profile, run by root with its capability bounding set cut to the sidecar's. */
async function profileAsSidecar(pid: number): Promise<{ attach: string; gc: unknown; stderr: string }> {
  const caps = ['-all', ...[...RUNTIME_DEFAULT_CAPS, ...sidecarCaps()].map((c) => `+${c}`)].join(',');
  const p = start('setpriv', [`--bounding-set=${caps}`, RTPROF, 'profile', '--pid', String(pid), '--duration', '2s', '--json']);
  const { code } = await p.exited;
  assert.equal(code, 0, p.stderr());
  const doc = JSON.parse(p.stdout()) as { target: { attach: string }; gc: unknown };
  return { attach: doc.target.attach, gc: doc.gc, stderr: p.stderr() };
}

const skip = process.getuid?.() !== 0 ? 'needs root (mount namespaces, capability sets)' : false;

test('CPython in its own mount namespace: gdb attaches with the sidecar capabilities (no SYS_ADMIN)', { skip }, async () => {
  requireTool('gdb', 'gdb');
  requireTool('setpriv', 'util-linux');
  assert.ok(!sidecarCaps().includes('sys_admin'), 'the sidecar does without SYS_ADMIN');
  const py = start('unshare', [
    '--mount',
    '--propagation',
    'private',
    PYTHON,
    '-u',
    '-c',
    'import time\nprint("ready")\nwhile True: time.sleep(0.05)',
  ]);
  await py.waitFor(/ready/);
  assert.notEqual(readlinkSync(`/proc/${py.pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'the target has its own mount namespace');
  const doc = await profileAsSidecar(py.pid);
  assert.equal(doc.attach, 'gdb', doc.stderr);
  assert.ok(doc.gc !== null, `the probe reported: ${doc.stderr}`);
  py.kill();
});

test('Node in its own mount namespace: the inspector attach works with the sidecar capabilities', { skip }, async () => {
  requireTool('setpriv', 'util-linux');
  const node = start('unshare', [
    '--mount',
    '--propagation',
    'private',
    process.execPath,
    '-e',
    'setInterval(()=>{},100);console.log("ready")',
  ]);
  await node.waitFor(/ready/);
  const doc = await profileAsSidecar(node.pid);
  assert.equal(doc.attach, 'inspector', doc.stderr);
  assert.ok(doc.gc !== null, `the probe reported: ${doc.stderr}`);
  node.kill();
});
