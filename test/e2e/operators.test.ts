/**
 * What an operator sees on the real stack after the README's main command (`bash scripts/aio.sh up`): both seeds'
 * paths work at once (a network without --subnet, a pod ADD through the installed conflist), the compiled daemons
 * answer /ready and /metrics, `kuryr status` follows neutron-server down and up, `kuryr ports` lists a running
 * container, and the npm tarball installs into a clean prefix.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerE2e, E2E } from './support/fixture.js';
import { adminClients } from './support/neutron.js';
import { must, sh, waitFor } from './support/sh.js';
import { RT } from './support/cni-daemon.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KURYR = '/usr/local/bin/kuryr';
const skip = await DockerE2e.skipReason();

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    request({ host: '127.0.0.1', port, path, timeout: 20_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

/** The value of one sample line of a Prometheus exposition (0 when absent). */
function sample(text: string, prefix: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.split(' ').pop()) : 0;
}

const aioUp = () => must(['bash', join(ROOT, 'scripts/aio.sh'), 'up'], { timeoutMs: 900_000 });

describe('operators: right after the main command', { skip }, () => {
  const e2e = new DockerE2e();
  const neutron = adminClients();
  const NET = `${E2E}ops-web`;
  const C1 = `${E2E}ops-c1`;
  const C2 = `${E2E}ops-c2`;

  before(async () => {
    await e2e.docker.removeAll(`${E2E}ops-`);
    await aioUp(); // the main job: installs this checkout's package and (re)starts both daemons from it
  });
  after(async () => {
    await e2e.docker.removeAll(`${E2E}ops-`);
    await aioUp(); // leave the main job running, whatever a test stopped
    await neutron.close();
  });

  test('the main job runs the compiled, installed package with production dependencies only', async () => {
    for (const name of ['kuryr-docker', 'kuryr-cni-daemon']) {
      const pid = readFileSync(`/run/aio/${name}.pid`, 'utf8').trim();
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      assert.match(cmd, /\/usr\/local\/bin\/kuryr serve (docker|cni)/, `${name}: ${cmd}`);
      assert.ok(!cmd.includes('tsx'), cmd);
    }
    assert.ok(!existsSync('/usr/local/lib/node_modules/kuryr-ts/node_modules/tsx'), 'no dev dependency installed');
    assert.ok(!existsSync('/usr/local/lib/node_modules/kuryr-ts/node_modules/typescript'), 'no dev dependency installed');
    assert.match(await must([KURYR, '--version']), /^kuryr \d+\.\d+\.\d+/);
  });

  test('both daemons answer /ready and /metrics; metrics move when a container starts; kuryr ports lists it', async () => {
    for (const port of [23751, 8090]) {
      const r = await get(port, '/ready');
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(Object.keys(JSON.parse(r.body).checks).sort(), ['bridge', 'keystone', 'neutron', 'socket']);
    }
    const JOIN = 'kuryr_docker_request_duration_seconds_count{method="NetworkDriver.Join",error="false"}';
    const ACTIVE = 'kuryr_port_active_wait_seconds_count{result="active"}';
    const first = (await get(23752, '/metrics')).body;
    const before = sample(first, JOIN);
    const activeBefore = sample(first, ACTIVE);
    assert.match((await get(9655, '/metrics')).body, /# TYPE kuryr_cni_request_duration_seconds histogram/);

    // seed 000 without --subnet: the default pool `kuryr` that aio.sh created serves it
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', NET]);
    const cidr = (await e2e.docker.networkInspect(NET)).IPAM.Config[0]?.Subnet ?? "";
    assert.match(cidr, /^10\.10\.\d+\.0\/24$/, `a /24 of the default pool kuryr, got ${cidr}`);
    await e2e.docker.must(['run', '-d', '--name', C1, '--net', NET, 'busybox', 'sleep', '600']);
    await e2e.docker.must(['run', '-d', '--name', C2, '--net', NET, 'busybox', 'sleep', '600']);
    const ip2 = (await e2e.docker.containerInspect(C2)).NetworkSettings.Networks[NET]!.IPAddress;
    await waitFor('c1 pings c2', async () => (await e2e.docker.run(['exec', C1, 'ping', '-c', '1', '-W', '1', ip2])).code === 0, 30_000, 500);

    const metrics = (await get(23752, '/metrics')).body;
    assert.equal(sample(metrics, JOIN), before + 2, 'two Joins counted');
    assert.ok(sample(metrics, 'kuryr_openstack_request_duration_seconds_count{method="POST",resource="ports",status="201"}') >= 2);
    assert.equal(sample(metrics, ACTIVE), activeBefore + 2, 'both ports waited for ACTIVE');

    const ports = JSON.parse(await must([KURYR, 'ports', '--json'])) as { ports: Array<{ kind: string; owner: string; ips: string[]; status: string; plugged: boolean }> };
    const row = ports.ports.find((p) => p.owner === C2);
    assert.ok(row, `kuryr ports lists ${C2}: ${JSON.stringify(ports)}`);
    assert.deepEqual([row.kind, row.ips, row.status, row.plugged], ['container', [ip2], 'ACTIVE', true]);
    assert.match(await must([KURYR, 'ports']), new RegExp(`container +${C2} `));

    // the Docker daemon's log names the call's ids and its request id, which Neutron logged too
    const log = readFileSync('/var/log/aio/kuryr-docker.out', 'utf8').split('\n');
    const join = log.filter((l) => l.includes('call finished method=NetworkDriver.Join')).pop() ?? '';
    const reqId = /\[(req-[0-9a-f-]{36})\]/.exec(join)?.[1];
    assert.ok(reqId, `a Join line with a request id: ${join}`);
    assert.match(join, /network=\w+ endpoint=\w+ sandbox=\w+/);
    await waitFor('neutron-server logged our request id', async () => readFileSync('/var/log/aio/neutron-server.log', 'utf8').includes(reqId), 10_000, 500);

    await e2e.docker.must(['rm', '-f', C1, C2]);
    await e2e.docker.must(['network', 'rm', NET]);
  });

  test('seed 004: a pod ADD through the installed conflist (libcni caller) gets a Neutron port, DEL removes it', async (t) => {
    if (!existsSync(RT.cnitool)) return t.skip('cnitool-lite not built (bash scripts/cni-runtimes.sh up)');
    const ns = `${E2E}ops-pod`;
    await sh(['ip', 'netns', 'del', ns]);
    await must(['ip', 'netns', 'add', ns]);
    const env = ['env', 'NETCONFPATH=/etc/cni/net.d', 'CNI_PATH=/opt/cni/bin', `CNI_CONTAINERID=${ns}-cid`,
      'CNI_ARGS=K8S_POD_NAMESPACE=default;K8S_POD_NAME=ops-pod;K8S_POD_UID=0b5e0c3a-0000-4000-8000-000000000001', RT.cnitool];
    try {
      const result = JSON.parse(await must([...env, 'add', 'kuryr', `/var/run/netns/${ns}`])) as { ips: Array<{ address: string }> };
      const ip = result.ips[0]!.address.split('/')[0]!;
      const subnetId = /pod_subnet = (\S+)/.exec(readFileSync('/etc/kuryr/kuryr-cni.conf', 'utf8'))![1]!;
      const [port] = await neutron.neutron.listPorts({ fixedIps: [{ subnetId, ipAddress: ip }] });
      assert.ok(port, 'the pod got a port on the pod subnet aio.sh made');
      assert.equal(port.name, 'ops-pod');
      assert.equal(port.status, 'ACTIVE');
      const ports = JSON.parse(await must([KURYR, 'ports', '--json'])) as { ports: Array<{ kind: string; owner: string; plugged: boolean }> };
      assert.ok(ports.ports.some((p) => p.kind === 'pod' && p.owner === 'default/ops-pod' && p.plugged));
      await must([...env, 'del', 'kuryr', `/var/run/netns/${ns}`]);
      assert.deepEqual(await neutron.neutron.listPorts({ fixedIps: [{ subnetId, ipAddress: ip }] }), [], 'DEL left no port');
    } finally {
      await sh(['ip', 'netns', 'del', ns]);
    }
  });

  test('kuryr status: 0 when healthy, 2 with neutron-server stopped, 0 again after it is back', async () => {
    const healthy = await sh([KURYR, 'status']);
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert.match(healthy.stdout, /: HEALTHY\n {2}keystone +ok/);
    try {
      // aio.sh's own way to stop one service: its pid file and stop_name
      await must(['bash', '-c', `source ${join(ROOT, 'scripts/lib/aio-common.sh')} && stop_name neutron-server`]);
      const down = await sh([KURYR, 'status', '--json']);
      assert.equal(down.code, 2, down.stdout);
      const report = JSON.parse(down.stdout) as { result: string; checks: { neutron: { ok: boolean; error: string } } };
      assert.equal(report.result, 'failure');
      assert.equal(report.checks.neutron.ok, false);
      assert.match((await get(23751, '/ready')).body, /"neutron":\{"ok":false/);
    } finally {
      await aioUp(); // brings neutron-server (and anything else down) back
    }
    const back = await sh([KURYR, 'status']);
    assert.equal(back.code, 0, back.stdout);
  });

  test('the npm tarball installs into a clean prefix: kuryr and kuryr-cni on its PATH, --version runs', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kuryr-pack-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tgz = (await must(['npm', 'pack', '--silent', '--pack-destination', dir], { timeoutMs: 300_000 })).trim().split('\n').pop()!;
    const prefix = join(dir, 'prefix');
    await must(['npm', 'install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, tgz)], { timeoutMs: 300_000 });
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    assert.equal((await must([join(prefix, 'bin/kuryr'), '--version'])).trim(), `kuryr ${version}`);
    assert.match(await must([join(prefix, 'bin/kuryr'), 'serve', 'docker', '--help']), /usage: kuryr serve docker/);
    const cni = await sh(['env', 'CNI_COMMAND=VERSION', join(prefix, 'bin/kuryr-cni')], { input: '{"cniVersion":"1.0.0"}' });
    assert.equal(cni.code, 0, cni.stderr);
    assert.ok((JSON.parse(cni.stdout) as { supportedVersions: string[] }).supportedVersions.includes('1.1.0'));
    const installed = join(prefix, 'lib/node_modules/kuryr-ts/node_modules');
    assert.ok(existsSync(join(installed, 'prom-client')) && !existsSync(join(installed, 'typescript')), 'production dependencies only');
  });

  test('systemd units pass systemd-analyze verify against the installed binary', async (t) => {
    if ((await sh(['which', 'systemd-analyze'])).code !== 0) return t.skip('no systemd-analyze');
    const r = await sh(['systemd-analyze', 'verify', join(ROOT, 'packaging/systemd/kuryr-docker.service'), join(ROOT, 'packaging/systemd/kuryr-cni.service')]);
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.startsWith('kuryr-'));
    assert.deepEqual(ours, [], ours.join('\n'));
  });
});
