/**
 * Security properties of the running Docker driver on the real stack: the plugin socket is not open
 * to everyone, no TCP listener unless configured, no secret in any log line even at debug, host-side
 * devices ignore router advertisements, and port security / allowed-address-pairs are never widened.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DockerE2e, E2E } from './support/fixture.js';
import { DEFAULT_SOCKET, KuryrDaemon } from './support/kuryr-daemon.js';
import { sh } from './support/sh.js';

const skip = await DockerE2e.skipReason();

describe('docker driver: security checks', { skip }, () => {
  const e2e = new DockerE2e();
  before(() => e2e.start());
  after(() => e2e.stop());

  test('plugin socket: owned by root, no access for others; no TCP listener beyond loopback', async () => {
    const st = statSync(DEFAULT_SOCKET);
    assert.equal(st.uid, 0);
    assert.equal(st.mode & 0o777, 0o660, `mode ${(st.mode & 0o777).toString(8)}`);
    const pids = (await sh(['pgrep', '-f', `kuryr.ts serve docker --config-file ${e2e.daemon.confPath}`])).stdout.trim().split('\n').filter(Boolean);
    assert.ok(pids.length > 0, 'our daemon runs');
    const listeners = (await sh(['ss', '-H', '-ltnp'])).stdout.split('\n').filter((l) => pids.some((p) => l.includes(`pid=${p},`)));
    // the plugin API stays on the socket (listen_mode = unix); a loopback-only status/metrics port is allowed
    const exposed = listeners.filter((l) => !/\s(127\.0\.0\.1|\[::1\]):\d+\s/.test(l));
    assert.deepEqual(exposed, [], 'no TCP listener beyond loopback unless listen_mode = tcp');
  });

  test('a container: accept_ra=0 on the host end, port security on and no allowed-address-pairs', async () => {
    const net = `${E2E}sec`;
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.41.0.0/24', net]);
    await e2e.docker.must(['run', '-d', '--name', `${E2E}sec1`, '--net', net, '--expose', '80', 'busybox', 'sleep', '600']);
    const { endpointId } = await e2e.containerIp(`${E2E}sec1`, net);
    const port = (await e2e.neutron.listPorts({ deviceId: endpointId }))[0]!;
    const tap = `tap${port.id.slice(0, 11)}`;
    assert.equal(readFileSync(`/proc/sys/net/ipv6/conf/${tap}/accept_ra`, 'utf8').trim(), '0');
    assert.equal(readFileSync(`/proc/sys/net/ipv6/conf/${tap}/autoconf`, 'utf8').trim(), '0');
    assert.notEqual(port.portSecurityEnabled, false, 'port security stays on');
    assert.deepEqual(port.allowedAddressPairs, []);
    assert.ok(port.securityGroups.length >= 1, 'the port keeps its security groups');
    await e2e.docker.must(['rm', '-f', `${E2E}sec1`]);
    await e2e.docker.must(['network', 'rm', net]);
  });

  test('the password and tokens never appear in a log line, even at debug and on auth failure', async () => {
    // the run above happened at debug level: no token or password value in the log
    const log = readFileSync(e2e.daemon.logPath, 'utf8');
    assert.doesNotMatch(log, /"password"\s*:\s*"[^*"]/i);
    assert.doesNotMatch(log, /gAAAAA[\w-]{20,}/, 'no Keystone (Fernet) token');
    const secret = `S3cret-${randomBytes(6).toString('hex')}`;
    const bad = new KuryrDaemon({ socketPath: '/run/aio/kuryr-sec-test.sock', extraConfig: `[neutron]\npassword = ${secret}\n` });
    await assert.rejects(bad.start());
    await bad.stop();
    const badLog = readFileSync(bad.logPath, 'utf8');
    assert.ok(badLog.length > 0, 'the failing daemon logged something');
    assert.ok(!badLog.includes(secret), 'the configured password is not in the log');
  });
});
