/**
 * Composition root of `kuryr serve cni`: kuryr.conf → OpenStack clients → veth binder, netns
 * inspector and health probe → pod use cases → the daemon socket the `kuryr-cni` shim talks to.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../common/log.js';
import type { KuryrConfig } from '../config/load.js';
import type { ControlPlaneProbe, NetnsInspector, NetnsLinkState, PodNetworkOptions } from '../core/pod-model.js';
import { PodNetworkService } from '../core/pod-network.js';
import { PodPools } from '../core/pod-pools.js';
import { startCniServer } from '../northbound/cni/server.js';
import { VethBinder } from '../southbound/dataplane/binder.js';
import { createExec, type Exec } from '../southbound/dataplane/exec.js';
import { netnsFile } from '../southbound/dataplane/ip.js';
import type { OpenStackClients } from '../southbound/openstack/index.js';
import { openStackFromConfig } from './openstack.js';
import { createPortPools } from './pools.js';

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
  const openstack = openStackFromConfig(config, logger);
  const exec = createExec(logger.child({ component: 'exec' }));
  const bridge = config.neutron_defaults.ovs_bridge ?? 'br-int';
  const binder = new VethBinder({ logger: logger.child({ component: 'binder' }), exec, defaultOvsBridge: bridge });
  const options = podNetworkOptions(config);
  const portPools = createPortPools(config, { neutron: openstack.neutron, binder, exec, owner: 'cni', activeTimeoutMs: options.activeTimeoutMs, logger });
  const pools = portPools !== undefined ? new PodPools(portPools, logger.child({ component: 'pod-pools' }), (ms) => new Promise((r) => setTimeout(r, ms))) : undefined;
  if (pools !== undefined) {
    // In the background: until the pools are back, ADDs make their ports.
    void pools.adopt(openstack.neutron, options.networkDeviceMtu).catch((err: unknown) => logger.error({ err: String(err) }, 'could not re-adopt the pod port pools'));
    portPools?.start();
  }
  const service = new PodNetworkService({
    neutron: openstack.neutron,
    binder,
    ...(pools !== undefined ? { pools } : {}),
    inspector: new IpNetnsInspector(exec),
    probe: probeOf(openstack, config.neutron.auth_url ?? '', exec, bridge),
    options,
    logger: logger.child({ component: 'pod-network' }),
  });
  const socketPath = config.cni_daemon.socket_path;
  const server = await startCniServer({ service, logger: logger.child({ component: 'cni-api' }), socketPath });
  logger.info({ socketPath, hostId: config.DEFAULT.host, podSubnet: config.neutron_defaults.pod_subnet }, 'kuryr CNI daemon ready');
  return {
    socketPath,
    async close() {
      await server.close();
      await portPools?.close();
      await openstack.close();
    },
  };
}

function probeOf(openstack: OpenStackClients, authUrl: string, exec: Exec, bridge: string): ControlPlaneProbe {
  return {
    async keystone() {
      const res = await fetch(authUrl, { signal: AbortSignal.timeout(3_000) });
      await res.body?.cancel();
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
