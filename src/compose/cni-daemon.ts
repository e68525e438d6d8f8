/**
 * Composition root of `kuryr serve cni`: kuryr.conf → OpenStack clients → veth binder, netns
 * inspector and health probe → pod use cases → the daemon socket the `kuryr-cni` shim talks to.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../common/log.js';
import { createDaemonMetrics } from '../common/metrics.js';
import { setTelemetry } from '../common/telemetry.js';
import type { KuryrConfig } from '../config/load.js';
import type { ControlPlaneProbe, NetnsInspector, NetnsLinkState, PodNetworkOptions } from '../core/pod-model.js';
import { PodNetworkService } from '../core/pod-network.js';
import { startCniServer } from '../northbound/cni/server.js';
import { VethBinder } from '../southbound/dataplane/binder.js';
import { createExec, type Exec } from '../southbound/dataplane/exec.js';
import { netnsFile } from '../southbound/dataplane/ip.js';
import type { OpenStackClients } from '../southbound/openstack/index.js';
import { openStackFromConfig } from './openstack.js';
import { socketAccepts, startDaemonStatus } from './status.js';

export interface RunningCniDaemon {
  socketPath: string;
  close(): Promise<void>;
}

/** The pod use-case options from kuryr.conf (`[neutron_defaults]`, `[cni_daemon]`, `[DEFAULT] host`). */
export function podNetworkOptions(config: KuryrConfig): PodNetworkOptions {
  const nd = config.neutron_defaults;
  return {
    hostId: config.DEFAULT.host,
    projectId: nd.project ?? undefined,
    podSubnetId: nd.pod_subnet ?? undefined,
    securityGroups: nd.pod_security_groups,
    networkDeviceMtu: nd.network_device_mtu,
    resourceTags: nd.resource_tags,
    activeTimeoutMs: config.cni_daemon.vif_annotation_timeout * 1000,
    cacheTtlMs: 30_000,
  };
}

export async function startCniDaemon(config: KuryrConfig, logger: Logger): Promise<RunningCniDaemon> {
  const metrics = createDaemonMetrics('cni');
  const restoreTelemetry = setTelemetry(metrics);
  const openstack = openStackFromConfig(config, logger);
  const exec = createExec(logger.child({ component: 'exec' }));
  const bridge = config.neutron_defaults.ovs_bridge ?? 'br-int';
  const probe = probeOf(openstack, config.neutron.auth_url ?? '', exec, bridge);
  const service = new PodNetworkService({
    neutron: openstack.neutron,
    binder: new VethBinder({ logger: logger.child({ component: 'binder' }), exec, defaultOvsBridge: bridge }),
    inspector: new IpNetnsInspector(exec),
    probe,
    options: podNetworkOptions(config),
    logger: logger.child({ component: 'pod-network' }),
  });
  const socketPath = config.cni_daemon.socket_path;
  const server = await startCniServer({ service, logger: logger.child({ component: 'cni-api' }), socketPath, onCall: metrics.call });
  const status = await startDaemonStatus({
    daemon: 'cni',
    healthPort: config.cni_health_server.port,
    metricsPort: config.prometheus_exporter.cni_exporter_port,
    metrics,
    checks: { keystone: probe.keystone, neutron: probe.neutron, bridge: probe.dataplane, socket: () => socketAccepts(socketPath) },
    logger: logger.child({ component: 'status' }),
  }).catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  logger.info({ socketPath, hostId: config.DEFAULT.host, podSubnet: config.neutron_defaults.pod_subnet }, 'kuryr CNI daemon ready');
  return {
    socketPath,
    async close() {
      await Promise.all([server.close(), status.close()]);
      await openstack.close();
      restoreTelemetry();
    },
  };
}

/** Keystone, Neutron and the OVS bridge, each throwing with a message an operator can act on. */
export function probeOf(openstack: OpenStackClients, authUrl: string, exec: Exec, bridge: string): ControlPlaneProbe {
  return {
    async keystone() {
      // the client's own HTTP layer: global fetch would load Node's second copy of undici (~10 MB more RSS)
      const res = await openstack.http.request({ method: 'GET', url: authUrl });
      if (res.status >= 500) throw new Error(`Keystone ${authUrl} answered ${res.status}`);
      await openstack.auth.getToken();
    },
    async neutron() {
      await openstack.neutron.getExtension('binding');
    },
    async dataplane() {
      await exec(['ovs-vsctl', '--timeout=3', 'br-exists', bridge], { timeoutMs: 5_000 }).catch((err: unknown) => {
        throw new Error(`OVS bridge ${bridge} is missing or ovsdb is down: ${err instanceof Error ? err.message : String(err)}`);
      });
    },
  };
}

interface IpAddrJson { ifname: string; mtu: number; address: string; addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }> }
interface IpRouteJson { dst: string; gateway?: string }

/** Reads an interface inside a netns with `nsenter --net=… ip -json` (address and route listings in parallel). */
class IpNetnsInspector implements NetnsInspector {
  constructor(private readonly exec: Exec) {}

  async inspect(netnsPath: string, ifName: string): Promise<NetnsLinkState | null> {
    const ns = ['nsenter', `--net=${netnsFile(netnsPath)}`, 'ip', '-json'];
    const addr = await this.exec([...ns, 'addr', 'show', 'dev', ifName], { okCodes: [0, 1, 255] }).catch(() => undefined);
    const links = addr && addr.stdout.trim() !== '' ? (JSON.parse(addr.stdout) as IpAddrJson[]) : [];
    const link = links[0];
    if (!link) return null;
    const [r4, r6] = await Promise.all([4, 6].map((f) => this.exec([...ns, `-${f}`, 'route', 'show', 'dev', ifName])));
    const routes = [...parseRoutes(r4!.stdout, '0.0.0.0/0'), ...parseRoutes(r6!.stdout, '::/0')];
    const addresses = (link.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
    return { mac: link.address, mtu: link.mtu, addresses, routes };
  }

  async hostMac(ifName: string): Promise<string | undefined> {
    return readFile(`/sys/class/net/${ifName}/address`, 'utf8').then((s) => s.trim(), () => undefined);
  }
}

function parseRoutes(stdout: string, defaultDst: string): Array<{ dst: string; gw: string | undefined }> {
  if (stdout.trim() === '') return [];
  return (JSON.parse(stdout) as IpRouteJson[]).map((r) => ({ dst: r.dst === 'default' ? defaultDst : r.dst, gw: r.gateway }));
}
