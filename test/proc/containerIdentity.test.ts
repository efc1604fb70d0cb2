// Container id and pod uid from every cgroup path shape the container runtimes produce, on sample strings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcCgroup } from '../../collectors/proc/cgroup';
import { envValue, identityFromCgroups, parseContainerPath } from '../../collectors/proc/containerIdentity';

const ID = '4f1b0c9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c';
const UID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const UID_ = UID.replace(/-/g, '_');

test('every runtime path shape gives the container id and pod uid', () => {
  const cases: Array<[string, string, string | null, string | null]> = [
    ['containerd/Docker, cgroupfs driver, burstable', `/kubepods/burstable/pod${UID}/${ID}`, ID, UID],
    ['cgroupfs driver, guaranteed (no QoS level)', `/kubepods/pod${UID}/${ID}`, ID, UID],
    ['cgroupfs driver, besteffort', `/kubepods/besteffort/pod${UID}/${ID}`, ID, UID],
    ['CRI-O, cgroupfs driver', `/kubepods/burstable/pod${UID}/crio-${ID}`, ID, UID],
    [
      'containerd, systemd driver',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      ID,
      UID,
    ],
    ['CRI-O, systemd driver', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`, ID, UID],
    ['guaranteed, systemd driver', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`, ID, UID],
    [
      'Docker (dockershim), systemd driver',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${ID}.scope`,
      ID,
      UID,
    ],
    ['plain Docker, cgroupfs', `/docker/${ID}`, ID, null],
    ['plain Docker, systemd', `/system.slice/docker-${ID}.scope`, ID, null],
    ['Podman', `/machine.slice/libpod-${ID}.scope`, ID, null],
    [
      'kind: a node container around the pod',
      `/docker/${'a'.repeat(64)}/kubelet.slice/kubelet-kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      ID,
      UID,
    ],
    ['the pod level only (no container below it)', `/kubepods/burstable/pod${UID}`, null, UID],
    ['a host service', '/system.slice/ssh.service', null, null],
    ['the root', '/', null, null],
    ['CRI-O monitor, not the container', `/kubepods/burstable/pod${UID}/crio-conmon-${ID}`, null, UID],
    ['too short to be an id', `/docker/${ID.slice(0, 12)}`, null, null],
  ];
  for (const [name, path, id, uid] of cases) assert.deepEqual(parseContainerPath(path), { containerId: id, podUid: uid }, name);
});

test('v1 and v2 lines: the v2 line first, then the first v1 hierarchy showing a container', () => {
  const hybrid = parseProcCgroup(
    [
      '12:pids:/',
      `4:memory:/kubepods/burstable/pod${UID}/${ID}`,
      `3:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`,
      '1:name=systemd:/init.scope',
      '0::/',
    ].join('\n'),
  );
  assert.deepEqual(identityFromCgroups(hybrid), { containerId: ID, podUid: UID });
  const unified = parseProcCgroup(`0::/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope\n`);
  assert.deepEqual(identityFromCgroups(unified), { containerId: ID, podUid: UID });
  assert.deepEqual(identityFromCgroups(parseProcCgroup('0::/user.slice/user-0.slice/session-1.scope\n')), {
    containerId: null,
    podUid: null,
  });
});

test('environ: the value of one key, null when absent; a key that is a prefix of another is not confused', () => {
  const environ = 'HOSTNAMEX=no\0HOSTNAME=web-7d9f8-x2k4q\0PATH=/usr/bin\0';
  assert.equal(envValue(environ, 'HOSTNAME'), 'web-7d9f8-x2k4q');
  assert.equal(envValue(environ, 'HOME'), null);
});
