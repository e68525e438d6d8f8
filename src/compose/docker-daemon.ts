import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { createDaemonMetrics } from '../common/metrics.js';
import { setTelemetry } from '../common/telemetry.js';
import type { KuryrConfig } from '../config/load.js';
import { boolFromString } from '../common/bool-from-string.js';
import type { LibnetworkOptions } from '../core/docker/service-context.js';
import { NeutronLibnetworkService } from '../core/docker/driver.js';
import { startDockerPlugin } from '../northbound/docker/server.js';
import { VethBinder } from '../southbound/dataplane/binder.js';
import { NodeControlPlaneProbe } from '../southbound/control-plane-probe.js';
import { createExec } from '../southbound/dataplane/exec.js';
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

/** Composition root of `kuryr serve docker`: config → clients → binder → use cases → plugin socket. */
export async function startDockerDaemon(config: KuryrConfig, logger: Logger): Promise<RunningDockerDaemon> {
  const metrics = createDaemonMetrics('docker');
  const restoreTelemetry = setTelemetry(metrics);
  const openstack = openStackFromConfig(config, logger);
  const binder = new VethBinder({ logger: logger.child({ component: 'binder' }) });
  const service = new NeutronLibnetworkService({
    neutron: openstack.neutron,
    binder,
    hostId: config.DEFAULT.host,
    logger: logger.child({ component: 'libnetwork' }),
    options: libnetworkOptions(config),
  });
  await service.init();
  const d = config.DEFAULT;
  const plugin = await startDockerPlugin({
    service,
    logger: logger.child({ component: 'docker-api' }),
    onCall: metrics.call,
    ...(d.listen_mode === 'tcp'
      ? { tcp: tcpOf(d.kuryr_uri, d.enable_ssl ? { cert: d.ssl_cert_file, key: d.ssl_key_file } : undefined) }
      : { socketPath: d.socket_path, socketMode: parseInt(d.socket_mode, 8) }),
  });
  const exec = createExec(logger.child({ component: 'exec' }));
  const probe = new NodeControlPlaneProbe(openstack, config.neutron.auth_url ?? '', exec, config.neutron_defaults.ovs_bridge ?? 'br-int');
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
  return {
    address: plugin.address,
    async close() {
      await Promise.all([plugin.close(), status.close()]);
      await openstack.close();
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
