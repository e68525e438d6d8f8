/**
 * Composition root of `kuryr serve cni`: kuryr.conf → OpenStack clients → veth binder, netns
 * inspector and health probe → pod use cases → the daemon socket the `kuryr-cni` shim talks to → the
 * reconciler that removes this node's pod ports no pod uses.
 */
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { createDaemonMetrics } from '../common/metrics.js';
import { setTelemetry } from '../common/telemetry.js';
import type { KuryrConfig } from '../config/load.js';
import type { PodNetworkOptions } from '../core/pod/pod-model.js';
import { PodNetworkService } from '../core/pod/pod-network.js';
import { PodPools } from '../core/pod/pod-pools.js';
import { Reconciler } from '../core/shared/reconciler.js';
import { startCniServer } from '../northbound/cni/server.js';
import { cniDeployment } from '../config/deployment.js';
import { dataplaneFor } from './dataplane.js';
import { NestedBinder } from '../southbound/dataplane/nested.js';
import { NodeControlPlaneProbe } from '../southbound/control-plane-probe.js';
import { createExec } from '../southbound/dataplane/exec.js';
import { IpNetnsInspector } from '../southbound/dataplane/netns-inspector.js';
import { openStackFromConfig } from './openstack.js';
import { createPortPools } from './pools.js';
import { controlPlaneChecks, socketAccepts, startDaemonStatus } from './status.js';

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
    podSubnetIds: nd.pod_subnets,
    securityGroups: nd.pod_security_groups,
    networkDeviceMtu: nd.network_device_mtu,
    resourceTags: nd.resource_tags,
    activeTimeoutMs: config.cni_daemon.vif_annotation_timeout * 1000,
    cacheTtlMs: 30_000,
    ...namespaceSubnetOptions(config),
  };
}

/** `[kubernetes] pod_subnets_driver = namespace` (kuryr-kubernetes' name) turns on a network per namespace. */
function namespaceSubnetOptions(config: KuryrConfig): Pick<PodNetworkOptions, 'namespaceSubnet'> {
  const driver = config.kubernetes.pod_subnets_driver.trim();
  if (driver === 'default') return {};
  if (driver !== 'namespace') throw new ConfigError(`[kubernetes] pod_subnets_driver ${driver} is not supported (default or namespace)`);
  const ns = config.namespace_subnet;
  if (!ns.pod_router) throw new ConfigError('[namespace_subnet] pod_router is not set (pod_subnets_driver = namespace needs it)');
  if (!ns.pod_subnet_pool) throw new ConfigError('[namespace_subnet] pod_subnet_pool is not set (pod_subnets_driver = namespace needs it)');
  return {
    namespaceSubnet: {
      routerId: ns.pod_router,
      subnetPoolId: ns.pod_subnet_pool,
      ...(ns.pod_subnet_pool_v6 ? { subnetPoolV6Id: ns.pod_subnet_pool_v6 } : {}),
      projects: ns.namespace_projects,
      defaultProjectId: config.neutron_defaults.project ?? undefined,
      resourceTags: config.neutron_defaults.resource_tags,
    },
  };
}

export async function startCniDaemon(config: KuryrConfig, logger: Logger): Promise<RunningCniDaemon> {
  const metrics = createDaemonMetrics('cni');
  const restoreTelemetry = setTelemetry(metrics);
  const deployment = cniDeployment(config);
  const openstack = openStackFromConfig(config, logger);
  const exec = createExec(logger.child({ component: 'exec' }));
  const bridge = config.neutron_defaults.ovs_bridge ?? 'br-int';
  const { binder, nested } = await dataplaneFor(deployment, openstack.neutron, logger, { exec, defaultOvsBridge: bridge });
  const options = podNetworkOptions(config);
  // Pool ports are bound to this node: only where a Neutron L2 agent plugs them, never inside a VM.
  const portPools = nested ? undefined : createPortPools(config, { neutron: openstack.neutron, binder, exec, owner: 'cni', activeTimeoutMs: options.activeTimeoutMs, logger });
  const pools = portPools !== undefined ? new PodPools(portPools, logger.child({ component: 'pod-pools' }), (ms) => new Promise((r) => setTimeout(r, ms))) : undefined;
  if (pools !== undefined) {
    // In the background: until the pools are back, ADDs make their ports.
    void pools.adopt(openstack.neutron, options.networkDeviceMtu).catch((err: unknown) => logger.error({ err: String(err) }, 'could not re-adopt the pod port pools'));
    portPools?.start();
  }
  const probe = new NodeControlPlaneProbe(openstack, config.neutron.auth_url ?? '', exec, bridge, binder instanceof NestedBinder ? binder : undefined);
  const service = new PodNetworkService({
    neutron: openstack.neutron,
    binder,
    ...(nested ? { nested } : {}),
    ...(pools !== undefined ? { pools } : {}),
    inspector: new IpNetnsInspector(exec),
    probe,
    options,
    logger: logger.child({ component: 'pod-network' }),
  });
  const socketPath = config.cni_daemon.socket_path;
  const server = await startCniServer({ service, logger: logger.child({ component: 'cni-api' }), socketPath, onCall: metrics.call, ...(pools !== undefined ? { pools } : {}) });
  const status = await startDaemonStatus({
    daemon: 'cni',
    healthPort: config.cni_health_server.port,
    metricsPort: config.prometheus_exporter.cni_exporter_port,
    metrics,
    checks: { ...controlPlaneChecks(probe), socket: () => socketAccepts(socketPath) },
    logger: logger.child({ component: 'status' }),
  }).catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  logger.info({ socketPath, hostId: config.DEFAULT.host, podSubnet: config.neutron_defaults.pod_subnet }, 'kuryr CNI daemon ready');
  // Inside a VM (nested) pod ports are never bound to the node and have no host veth to judge by.
  const d = config.DEFAULT;
  const firstSeen = new Map<string, number>();
  const reconciler = new Reconciler(() => service.collectGarbage({ apply: true, graceMs: d.gc_grace * 1000, firstSeen }), nested ? 0 : d.gc_interval * 1000, logger.child({ component: 'gc' }));
  reconciler.start();
  return {
    socketPath,
    async close() {
      await reconciler.stop();
      await Promise.all([server.close(), status.close()]);
      await pools?.close();
      await portPools?.close();
      await openstack.close();
      restoreTelemetry();
    },
  };
}
