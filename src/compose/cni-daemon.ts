/**
 * Composition root of `kuryr serve cni`: kuryr.conf → OpenStack clients → veth binder, netns
 * inspector and health probe → pod use cases → the daemon socket the `kuryr-cni` shim talks to.
 */
import type { Logger } from '../common/log.js';
import { createDaemonMetrics } from '../common/metrics.js';
import { setTelemetry } from '../common/telemetry.js';
import type { KuryrConfig } from '../config/load.js';
import type { PodNetworkOptions } from '../core/pod/pod-model.js';
import { PodNetworkService } from '../core/pod/pod-network.js';
import { startCniServer } from '../northbound/cni/server.js';
import { VethBinder } from '../southbound/dataplane/binder.js';
import { NodeControlPlaneProbe } from '../southbound/control-plane-probe.js';
import { createExec } from '../southbound/dataplane/exec.js';
import { IpNetnsInspector } from '../southbound/dataplane/netns-inspector.js';
import { openStackFromConfig } from './openstack.js';
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
  const probe = new NodeControlPlaneProbe(openstack, config.neutron.auth_url ?? '', exec, bridge);
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
    checks: { ...controlPlaneChecks(probe), socket: () => socketAccepts(socketPath) },
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
