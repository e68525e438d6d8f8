import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { createDaemonMetrics } from '../common/metrics.js';
import { setTelemetry } from '../common/telemetry.js';
import type { KuryrConfig } from '../config/load.js';
import { boolFromString } from '../common/bool-from-string.js';
import type { LibnetworkOptions } from '../core/docker/service-context.js';
import { NeutronLibnetworkService } from '../core/docker/driver.js';
import { Reconciler } from '../core/shared/reconciler.js';
import { startDockerPlugin } from '../northbound/docker/server.js';
import { EndpointPools } from '../core/docker/endpoint-pools.js';
import { createExec } from '../southbound/dataplane/exec.js';
import { DockerEngineClient, socketPathOf } from '../southbound/docker-engine/client.js';
import { createPortPools } from './pools.js';
import { dockerDeployment } from '../config/deployment.js';
import { dataplaneFor } from './dataplane.js';
import { NodeControlPlaneProbe } from '../southbound/control-plane-probe.js';
import { NestedBinder } from '../southbound/dataplane/nested.js';
import { openStackFromConfig } from './openstack.js';
import { controlPlaneChecks, socketAccepts, startDaemonStatus } from './status.js';

export interface RunningDockerDaemon {
  address: string;
  close(): Promise<void>;
}

/** The libnetwork use-case options from kuryr.conf (option names as the Python kuryr-libnetwork spells them; docs/config.md). */
export function libnetworkOptions(config: KuryrConfig): LibnetworkOptions {
  const d = config.DEFAULT;
  const n = config.neutron;
  return {
    capabilityScope: d.capability_scope,
    localDefaultAddressSpace: d.local_default_address_space,
    globalDefaultAddressSpace: d.global_default_address_space,
    subnetpoolNamePrefix: d.subnetpool_name_prefix,
    defaultSubnetpoolV4: n.default_subnetpool_v4,
    defaultSubnetpoolV6: n.default_subnetpool_v6,
    // kuryr-lib declares enable_dhcp as a string option; oslo's bool_from_string decides
    enableDhcp: boolFromString(n.enable_dhcp),
    processExternalConnectivity: d.process_external_connectivity,
    vethDstPrefix: config.binding.veth_dst_prefix,
    waitForActive: d.wait_for_active || n.vif_plugging_is_fatal,
    activeTimeoutMs: (n.vif_plugging_timeout > 0 ? n.vif_plugging_timeout : d.active_timeout) * 1000,
    vifPluggingIsFatal: n.vif_plugging_is_fatal,
  };
}

/** The libnetwork use cases over this host's Neutron, data plane and dockerd; `close` ends the clients. */
export async function openDockerService(
  config: KuryrConfig,
  logger: Logger,
  // Only the daemon keeps port pools; a one-shot command (kuryr gc) must not adopt or refill them.
  { withPools }: { withPools: boolean },
): Promise<{ service: NeutronLibnetworkService; docker: DockerEngineClient; probe: NodeControlPlaneProbe; close(): Promise<void> }> {
  const deployment = dockerDeployment(config);
  const openstack = openStackFromConfig(config, logger);
  const exec = createExec(logger.child({ component: 'exec' }));
  const { binder, nested } = await dataplaneFor(deployment, openstack.neutron, logger, { exec });
  const options = libnetworkOptions(config);
  // Pool ports are bound to this host: only where a Neutron L2 agent plugs them, never inside a VM.
  const portPools = nested || !withPools ? undefined : createPortPools(config, { neutron: openstack.neutron, binder, exec, owner: 'docker', activeTimeoutMs: options.activeTimeoutMs, logger });
  const dockerHost = socketPathOf(config.DEFAULT.docker_host);
  // Short timeout for names in error messages: they are looked up inside a call dockerd is waiting for.
  const dockerNames = new DockerEngineClient(dockerHost, 2_000);
  const service = new NeutronLibnetworkService({
    neutron: openstack.neutron,
    binder,
    ...(nested ? { nested } : {}),
    hostId: config.DEFAULT.host,
    logger: logger.child({ component: 'libnetwork' }),
    options,
    ...(portPools !== undefined ? { pools: new EndpointPools(portPools) } : {}),
    dockerNetworkName: dockerNames.networkName.bind(dockerNames),
  });
  await service.init();
  const bridge = config.neutron_defaults.ovs_bridge ?? 'br-int';
  return {
    service,
    docker: new DockerEngineClient(dockerHost, 30_000),
    probe: new NodeControlPlaneProbe(openstack, config.neutron.auth_url ?? '', exec, bridge, binder instanceof NestedBinder ? binder : undefined),
    async close() {
      await portPools?.close();
      await openstack.close();
    },
  };
}

/** Composition root of `kuryr serve docker`: config → clients → binder → use cases → plugin socket → reconciler. */
export async function startDockerDaemon(config: KuryrConfig, logger: Logger): Promise<RunningDockerDaemon> {
  const metrics = createDaemonMetrics('docker');
  const restoreTelemetry = setTelemetry(metrics);
  const { service, docker, probe, close } = await openDockerService(config, logger, { withPools: true });
  const d = config.DEFAULT;
  const plugin = await startDockerPlugin({
    service,
    logger: logger.child({ component: 'docker-api' }),
    onCall: metrics.call,
    ...(d.listen_mode === 'tcp'
      ? { tcp: tcpOf(d.kuryr_uri, d.enable_ssl ? { cert: d.ssl_cert_file, key: d.ssl_key_file } : undefined) }
      : { socketPath: d.socket_path, socketMode: parseInt(d.socket_mode, 8) }),
  });
  const status = await startDaemonStatus({
    daemon: 'docker',
    healthPort: d.health_port,
    metricsPort: d.metrics_port,
    metrics,
    checks: {
      ...controlPlaneChecks(probe),
      ...(d.listen_mode === 'unix' ? { socket: () => socketAccepts(d.socket_path) } : {}),
    },
    logger: logger.child({ component: 'status' }),
  }).catch(async (err: unknown) => {
    await plugin.close();
    throw err;
  });
  logger.info({ address: plugin.address, hostId: d.host, scope: d.capability_scope }, 'kuryr docker plugin ready');
  const firstSeen = new Map<string, number>();
  const reconciler = new Reconciler(
    () => service.collectGarbage(docker, { apply: true, graceMs: d.gc_grace * 1000, firstSeen }),
    d.gc_interval * 1000,
    logger.child({ component: 'gc' }),
  );
  reconciler.start();
  return {
    address: plugin.address,
    async close() {
      await reconciler.stop();
      await Promise.all([plugin.close(), status.close()]);
      await close();
      restoreTelemetry();
    },
  };
}

function tcpOf(uri: string, tls: { cert: string; key: string } | undefined): { host: string; port: number; tls?: { cert: Buffer; key: Buffer } } {
  const u = new URL(uri);
  const port = Number(u.port || 23750);
  if (!tls) return { host: u.hostname, port };
  for (const [what, file] of [['ssl_cert_file', tls.cert], ['ssl_key_file', tls.key]] as const) {
    if (!existsSync(file)) throw new ConfigError(`[DEFAULT] ${what} ${file} does not exist (enable_ssl = True)`);
  }
  return { host: u.hostname, port, tls: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } };
}
