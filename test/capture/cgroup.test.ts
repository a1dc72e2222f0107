import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupFacts, containerText } from '../../src/capture/cgroup';

const HEX = 'ab'.repeat(32);
const HEX2 = '0123456789abcdef'.repeat(4);
const UID = '0f3a2c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b';

test('a systemd service or scope is the innermost unit of its path', () => {
  assert.deepEqual(cgroupFacts('/system.slice/nginx.service'), { unit: 'nginx.service' });
  assert.deepEqual(cgroupFacts('/user.slice/user-1000.slice/session-3.scope'), { unit: 'session-3.scope' });
  assert.deepEqual(cgroupFacts('/user.slice/user-1000.slice/user@1000.service/app.slice/app-foot.scope'), { unit: 'app-foot.scope' });
  assert.deepEqual(cgroupFacts('/system.slice'), {});
  assert.deepEqual(cgroupFacts('/'), {});
});

test('docker containers: the systemd driver scope and the cgroupfs driver directory', () => {
  assert.deepEqual(cgroupFacts(`/system.slice/docker-${HEX}.scope`), { unit: `docker-${HEX}.scope`, runtime: 'docker', container: HEX });
  assert.deepEqual(cgroupFacts(`/docker/${HEX}`), { runtime: 'docker', container: HEX });
  assert.equal(containerText(cgroupFacts(`/docker/${HEX}`)), `docker://${HEX}`);
  assert.deepEqual(cgroupFacts('/docker/abc'), {}, 'not a container id');
});

test('containerd, cri-o and podman scopes name their runtime; conmon scopes are not containers', () => {
  assert.equal(containerText(cgroupFacts(`/system.slice/cri-containerd-${HEX}.scope`)), `containerd://${HEX}`);
  assert.equal(containerText(cgroupFacts(`/machine.slice/crio-${HEX}.scope`)), `cri-o://${HEX}`);
  assert.equal(containerText(cgroupFacts(`/machine.slice/libpod-${HEX}.scope`)), `podman://${HEX}`);
  assert.deepEqual(cgroupFacts(`/machine.slice/libpod-conmon-${HEX}.scope`), { unit: `libpod-conmon-${HEX}.scope` });
  assert.equal(containerText(cgroupFacts('/system.slice/nginx.service')), undefined);
});

test('Kubernetes pods of the systemd driver: UID with dashes and QoS class; guaranteed pods have no class slice', () => {
  const under = UID.replace(/-/g, '_');
  const burstable = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${under}.slice/cri-containerd-${HEX}.scope`;
  assert.deepEqual(cgroupFacts(burstable), { unit: `cri-containerd-${HEX}.scope`, runtime: 'containerd', container: HEX, pod: UID, qos: 'burstable' });
  assert.deepEqual(cgroupFacts(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${under}.slice`), { pod: UID, qos: 'besteffort' });
  assert.deepEqual(cgroupFacts(`/kubepods.slice/kubepods-pod${under}.slice/crio-${HEX2}.scope`),
    { unit: `crio-${HEX2}.scope`, runtime: 'cri-o', container: HEX2, pod: UID, qos: 'guaranteed' });
});

test('Kubernetes pods of the cgroupfs driver: the container id alone, its runtime not named', () => {
  assert.deepEqual(cgroupFacts(`/kubepods/burstable/pod${UID}/${HEX}`), { container: HEX, pod: UID, qos: 'burstable' });
  assert.deepEqual(cgroupFacts(`/kubepods/pod${UID}/${HEX}`), { container: HEX, pod: UID, qos: 'guaranteed' });
  assert.equal(containerText(cgroupFacts(`/kubepods/besteffort/pod${UID}/${HEX}`)), HEX);
  assert.deepEqual(cgroupFacts(`/elsewhere/pod${UID}`), {}, 'a pod directory only under kubepods');
});

test('what is not a path under the mount shows nothing', () => {
  assert.deepEqual(cgroupFacts('cgroup 1234 (gone)'), {});
  assert.deepEqual(cgroupFacts(''), {});
  assert.deepEqual(cgroupFacts(`/x/nginx.service\x1b[2J`), {});
});
