/**
 * Chaos with the infrastructure failing under our running daemons: neutron-server restarted, Keystone
 * stopped for a while, RabbitMQ stopped for a while (the L2 agent stalls), each while `docker run`s and
 * pod ADDs are in flight and while new ones arrive. Every call either succeeds or fails with an error
 * naming what is wrong, within the caller's bound. Once the service is back, the callers' retries work
 * (how long the OVS agent took to catch up is printed), then new containers and pods work at once, all
 * without restarting our daemons, and once everything is removed nothing of ours is left.
 *
 * The callers' bounds: kubelet gives a CNI ADD `--runtime-request-timeout` (2 min); dockerd waits for
 * an accepted plugin call without a limit (docs/ownership.md), so each of our Docker daemon's calls is
 * held to the same 2 min. Both daemons run their reconcilers (short period, as in chaos-docker).
 * Size: KURYR_CHAOS_CONTAINERS containers and KURYR_CHAOS_PODS pods per wave (default 1), two waves
 * per outage (in flight when it starts, started while the service is down) and one after it.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { KURYR_CNI, type CniDaemon } from './support/cni-daemon.js';
import { cniEnv, tempNetns } from './support/cni-env.js';
import { pingFrom, podPorts } from './support/cni-neutron.js';
import { dockerNetworkLeaks, kuryrNetworkIds } from './support/docker-leaks.js';
import { DockerE2e, E2E } from './support/fixture.js';
import { kuryrHostLeftovers } from './support/host.js';
import { sleep, waitFor } from './support/sh.js';
import { startService, stopService, type StackService } from './support/stack-services.js';

const CONTAINERS = Number(process.env.KURYR_CHAOS_CONTAINERS ?? 1);
const PODS = Number(process.env.KURYR_CHAOS_PODS ?? 1);
/** kubelet's `--runtime-request-timeout`: what a CNI ADD (and here each Docker plugin call) must finish within. */
const CNI_BOUND_MS = 120_000;
/**
 * dockerd creates one network's endpoints one at a time, so a `docker run` queued behind others in an
 * outage waits for theirs too: it must end (not hang), each plugin call within CNI_BOUND_MS.
 */
const DOCKER_RUN_BOUND_MS = 300_000;
/** How long callers keep retrying once the service is back (the OVS agent resyncs after neutron-server restarts). */
const RECOVERY_BOUND_MS = 300_000;
const PREFIX = 'cni-e2e-infra-';
const DRIVER = 'kuryr-infra';
const GC = '[DEFAULT]\ngc_interval = 3\ngc_grace = 5\n';
/** The CNI daemon's ACTIVE wait: shorter than the e2e default, so a retried ADD fails (and is retried) sooner. */
const CNI_CONF = `${GC}[cni_daemon]\nvif_annotation_timeout = 20\n`;

/** One outage: which service, how long it stays down, and what a failed call's message must name. */
const OUTAGES: Array<{ service: StackService; downMs: number; names: RegExp }> = [
  { service: 'neutron-server', downMs: 3_000, names: /neutron|9696|ECONNREFUSED|unavailable|try again/i },
  { service: 'keystone', downMs: 10_000, names: /keystone|5000|auth|token|unavailable|try again/i },
  { service: 'rabbitmq', downMs: 10_000, names: /ACTIVE|agent|bind|no answer|try again/i },
];
/**
 * Which outages run: all with KURYR_CHAOS_INFRA=1; by default (CI) neutron-server and Keystone. With RabbitMQ down,
 * Neutron most likely loses the casts that tell the agents about new security-group members (not verified), and in one run of two the
 * containers started meanwhile could not reach each other 2 min later: Neutron's to heal, not ours, and not
 * something a CI run may hang on.
 */
const PICKED = process.env.KURYR_CHAOS_INFRA === '1' ? OUTAGES : OUTAGES.filter((o) => o.service !== 'rabbitmq');

interface Outcome {
  who: string;
  ok: boolean;
  ms: number;
  message: string;
}

test('chaos: neutron-server, Keystone and RabbitMQ fail under our daemons', { timeout: 15 * 60_000 }, async (t) => {
  // Neutron's agents back off an RPC that timed out (doubling its timeout, by default up to 600 s, until they
  // restart); while the DHCP agent does, it holds new ports DOWN. scripts/aio.sh bounds that at 30 s
  // (rpc_response_max_timeout): a stack without that setting can stall the files after this one for minutes.
  if (process.env.KURYR_CHAOS_INFRA === '0') return void t.skip('KURYR_CHAOS_INFRA=0');
  if (PICKED.length < OUTAGES.length) t.diagnostic('RabbitMQ outage left out: KURYR_CHAOS_INFRA=1 runs it too');
  const skip = await DockerE2e.skipReason();
  if (skip) return void t.skip(skip);
  if (!existsSync(KURYR_CNI)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  // a socket of its own (driver `kuryr-infra`): nothing else answers in our daemon's place
  const e2e = new DockerE2e({ socketPath: `/run/docker/plugins/${DRIVER}.sock`, extraConfig: GC });
  t.after(() => e2e.stop().catch(() => undefined));
  await e2e.start();
  const env = await cniEnv(t, PREFIX, 238, CNI_CONF);
  if (!env) return;
  const daemons = { docker: e2e.daemon.pid, cni: env.daemon.pid };

  for (const [i, outage] of PICKED.entries()) {
    await t.test(`${outage.service} down for ${outage.downMs / 1000} s`, async (t) => {
      const world = await Round.open(t, e2e, env, i);
      const wave1 = world.wave('a');
      let wave2: Promise<Outcome[]> | undefined;
      let status: string | undefined;
      const timing = { stop: 0, down: 0, start: 0 };
      let t0 = Date.now();
      try {
        await sleep(Math.random() * 1500);
        t0 = Date.now();
        await stopService(outage.service);
        timing.stop = Date.now() - t0;
        wave2 = world.wave('b');
        status = (await env.daemon.call('STATUS', {}, env.daemon.conflist(`${PREFIX}net`, '1.1.0'))).out.msg;
        await sleep(outage.downMs);
      } finally {
        timing.down = Date.now() - t0;
        await startService(outage.service);
        timing.start = Date.now() - t0 - timing.down;
      }
      world.outcomes.push(...(await wave1), ...((await wave2) ?? []));
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.log(`# ${outage.service}: stopped in ${s(timing.stop)}, down ${s(timing.down)}, started in ${s(timing.start)}; CNI STATUS while down: ${status ?? 'ok'}`);
      for (const o of world.outcomes) {
        console.log(`#   ${o.who}: ${o.ok ? 'ok' : 'failed'} in ${s(o.ms)}${o.ok ? '' : `: ${o.message}`}`);
        assert.ok(o.ms < (o.who.startsWith('ADD') ? CNI_BOUND_MS : DOCKER_RUN_BOUND_MS), `${o.who} took ${o.ms} ms, longer than its caller waits`);
        if (!o.ok) assert.match(o.message, outage.names, `${o.who} failed without naming what is down`);
      }
      const slowest = slowestPluginCall(e2e.daemon.logPath);
      console.log(`#   slowest plugin call so far: ${slowest.line}`);
      assert.ok(slowest.ms < CNI_BOUND_MS, `a plugin call took ${slowest.ms} ms: ${slowest.line}`);
      if (outage.service !== 'rabbitmq') assert.match(status ?? '', outage.service === 'keystone' ? /keystone/i : /neutron/i, 'CNI STATUS names the service that is down');

      // back: the calls that failed are retried by their callers until they work; then new ones must work at once
      const recovery = await world.retryFailed();
      console.log(`# ${outage.service}: every failed call worked again ${s(recovery)} after the service was back`);
      world.outcomes.push(...(await world.wave('c')));
      for (const o of world.outcomes.slice(-CONTAINERS - PODS)) assert.ok(o.ok, `${o.who} after ${outage.service} came back: ${o.message}`);
      assert.deepEqual({ docker: e2e.daemon.pid, cni: env.daemon.pid }, daemons, 'our daemons were not restarted');
      await world.assertConnectivity();
      await world.removeAllAndCheckLeaks();
    });
  }
});

/** The slowest call our Docker daemon answered so far (its `call finished|failed|refused … ms=` lines). */
function slowestPluginCall(logPath: string): { ms: number; line: string } {
  let worst = { ms: 0, line: '(none)' };
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    const m = / call (?:finished|failed|refused) method=(\S+) .*?ms=([\d.]+)/.exec(line);
    if (m && Number(m[2]) > worst.ms) worst = { ms: Number(m[2]), line: `${m[1]} ${m[2]} ms` };
  }
  return worst;
}

/** One outage's containers and pods on a fresh Docker network and the CNI topology's pod network. */
class Round {
  readonly outcomes: Outcome[] = [];
  readonly conf: Record<string, unknown>;
  private readonly containers: string[] = [];
  private readonly pods: Array<{ name: string; ns: string; cid: string; uid: string; ip?: string }> = [];
  private readonly seenPorts = new Set<string>();

  private constructor(
    private readonly t: TestContext,
    private readonly e2e: DockerE2e,
    private readonly env: NonNullable<Awaited<ReturnType<typeof cniEnv>>>,
    private readonly index: number,
    private readonly net: string,
    private readonly did: string,
    private readonly cidr: string,
    private readonly netsBefore: Set<string>,
  ) {
    this.conf = (env.daemon as CniDaemon).conflist(`${PREFIX}net`, '1.0.0');
  }

  static async open(t: TestContext, e2e: DockerE2e, env: NonNullable<Awaited<ReturnType<typeof cniEnv>>>, index: number): Promise<Round> {
    const cidr = `10.${241 + index}.0.0/24`;
    const net = `${E2E}infra${index}`;
    const netsBefore = await kuryrNetworkIds(e2e.neutron);
    const did = await e2e.docker.must(['network', 'create', '-d', DRIVER, '--ipam-driver', DRIVER, '--subnet', cidr, net]);
    return new Round(t, e2e, env, index, net, did, cidr, netsBefore);
  }

  /** Starts CONTAINERS `docker run -d` and PODS ADDs at once; resolves with how each ended. */
  async wave(tag: string): Promise<Outcome[]> {
    const runs = Array.from({ length: CONTAINERS }, (_, i) => this.run(`${E2E}infra${this.index}${tag}${i}`));
    const adds = await Promise.all(Array.from({ length: PODS }, (_, i) => this.newPod(`${tag}${i}`)));
    return Promise.all([...runs, ...adds.map((p) => this.add(p))]);
  }

  private async run(name: string): Promise<Outcome> {
    this.containers.push(name);
    const started = Date.now();
    const r = await this.e2e.docker.run(['run', '-d', '--name', name, '--net', this.net, 'busybox', 'sleep', '600'], DOCKER_RUN_BOUND_MS + 60_000);
    return { who: `docker run ${name}`, ok: r.code === 0, ms: Date.now() - started, message: r.stderr.trim() };
  }

  private async newPod(suffix: string): Promise<Round['pods'][number]> {
    const name = `${PREFIX}${this.index}-${suffix}`;
    const pod = { name, ns: await tempNetns(this.t, name), cid: `infra${this.index}${suffix}${Date.now()}`, uid: randomUUID() };
    this.pods.push(pod);
    return pod;
  }

  private envOf(p: Round['pods'][number]): Record<string, string> {
    return { CNI_CONTAINERID: p.cid, CNI_NETNS: p.ns, CNI_IFNAME: 'eth0', CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${p.name};K8S_POD_UID=${p.uid}` };
  }

  private async add(p: Round['pods'][number]): Promise<Outcome> {
    const r = await this.env.daemon.call('ADD', this.envOf(p), this.conf);
    const ip = (r.out['ips'] as Array<{ address: string }> | undefined)?.[0]?.address.split('/')[0];
    if (r.rc === 0 && ip !== undefined) p.ip = ip;
    return { who: `ADD ${p.name}`, ok: r.rc === 0, ms: r.ms, message: `${r.out.code ?? ''} ${r.out.msg ?? ''}`.trim() };
  }

  /** The runtime's DEL: retried until it succeeds. */
  private del(p: Round['pods'][number]): Promise<unknown> {
    return waitFor(`DEL ${p.name}`, async () => (await this.env.daemon.call('DEL', this.envOf(p), this.conf)).rc === 0 || undefined, 120_000, 1000);
  }

  /**
   * What callers do after a failure, until it works: Docker users remove the dead container and run it
   * again; a runtime sends DEL, then ADD again (kubelet retries a sandbox with back-off). Resolves with how
   * long that took once the service was back: the L2 agent may lag behind neutron-server for a while.
   */
  async retryFailed(): Promise<number> {
    const started = Date.now();
    for (const o of this.outcomes.filter((x) => !x.ok)) {
      await waitFor(`${o.who} to work again`, async () => {
        const again = o.who.startsWith('docker run ') ? await this.rerun(o.who.slice('docker run '.length)) : await this.readd(o.who.slice('ADD '.length));
        this.outcomes.push(again);
        if (!again.ok) console.log(`#   retried ${again.who}: failed in ${(again.ms / 1000).toFixed(1)} s: ${again.message}`);
        return again.ok;
      }, RECOVERY_BOUND_MS, 2000);
    }
    return Date.now() - started;
  }

  private async rerun(name: string): Promise<Outcome> {
    const state = await this.e2e.docker.run(['inspect', '-f', '{{.State.Running}}', name]);
    assert.notEqual(state.stdout.trim(), 'true', `${name} runs although docker run failed`);
    await this.e2e.docker.run(['rm', '-f', name]);
    this.containers.splice(this.containers.indexOf(name), 1);
    return this.run(name);
  }

  private async readd(name: string): Promise<Outcome> {
    const p = this.pods.find((x) => x.name === name)!;
    await this.del(p);
    const left = (await podPorts(this.env.neutron, this.env.topo.podNetId)).filter((x) => x.name === p.name);
    assert.deepEqual(left.map((x) => x.id), [], `${p.name}: DEL after a failed ADD left its port`);
    return this.add(p);
  }

  /** Every container reaches the next one, every pod the next pod (the L2 agent may need a moment to catch up). */
  async assertConnectivity(): Promise<void> {
    const ips: Array<{ name: string; ip: string }> = [];
    for (const name of this.containers) ips.push({ name, ip: (await this.e2e.containerIp(name, this.net)).ip });
    for (const [i, c] of ips.entries()) {
      const peer = ips[(i + 1) % ips.length]!;
      const ok = await waitFor(`${c.name} → ${peer.ip}`, async () => (await this.e2e.ping(c.name, peer.ip, 1)) || undefined, 90_000, 1000).catch(() => false);
      assert.ok(ok, `${c.name} cannot reach ${peer.name} (${peer.ip})`);
    }
    for (const [i, p] of this.pods.entries()) {
      const peer = this.pods[(i + 1) % this.pods.length]!;
      const ok = await waitFor(`${p.name} → ${peer.ip}`, async () => (await pingFrom(p.ns, peer.ip!, 1)) || undefined, 90_000, 1000).catch(() => false);
      assert.ok(ok, `${p.name} cannot reach ${peer.name} (${peer.ip})`);
    }
  }

  async removeAllAndCheckLeaks(): Promise<void> {
    // (during the outage the test cannot ask Neutron either; ports removed then are covered by the orphan-plug check)
    for (const port of await podPorts(this.env.neutron, this.env.topo.podNetId)) this.seenPorts.add(port.id);
    await this.e2e.docker.run(['rm', '-f', ...this.containers], 240_000);
    await Promise.all(this.pods.map((p) => this.del(p)));
    await this.e2e.docker.must(['network', 'rm', this.net]);
    await waitFor(`no leftovers of ${this.net} and its pods`, async () => {
      const leaks = [
        ...(await dockerNetworkLeaks(this.e2e.neutron, this.did, this.cidr, this.netsBefore)),
        ...(await podPorts(this.env.neutron, this.env.topo.podNetId)).map((p) => `pod port ${p.name} ${p.id}`),
        ...(await kuryrHostLeftovers([...this.seenPorts])),
      ];
      return leaks.length === 0 || (console.log(`# waiting on: ${leaks.join(', ')}`), undefined);
    }, 60_000, 3000);
  }
}
