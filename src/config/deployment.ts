/**
 * Which deployment model kuryr.conf selects: containers on the host's L2 agent (veth), or nested in a
 * Nova VM (macvlan/ipvlan on the VM NIC, or VLAN subports of the VM port's trunk). Option names are the
 * Python projects': kuryr-libnetwork's `[DEFAULT] default_port_driver` + kuryr-lib's `[binding]`
 * (spec kuryr-libnetwork §6.1), kuryr-kubernetes' `[kubernetes] pod_vif_driver` for the CNI daemon.
 */
import { ConfigError } from '../common/errors.js';
import type { KuryrConfig } from './load.js';

export type Deployment =
  | { kind: 'veth' }
  | { kind: 'nested'; mode: 'macvlan' | 'ipvlan'; linkIface: string; revUpdateAttempts: number }
  | { kind: 'vlan'; linkIface: string };

const PORT_DRIVERS = ['veth', 'nested', 'vlan', 'sriov'] as const;
const BINDING_DRIVERS = ['veth', 'macvlan', 'ipvlan', 'vlan', 'hw_veb'] as const;
/** Port driver → the binding drivers it works with (kuryr-libnetwork's compatibility table). */
const COMPATIBLE: Record<string, readonly string[]> = { veth: ['veth'], nested: ['macvlan', 'ipvlan'], vlan: ['vlan'], sriov: ['hw_veb'] };

/** Last dotted component: `kuryr_libnetwork.port_driver.drivers.nested` and `nested` both name `nested`. */
function shortName(value: string): string {
  return value.trim().split('.').pop()!.toLowerCase();
}

/** `kuryr serve docker`: from `default_port_driver` and `[binding] default_driver`. */
export function dockerDeployment(config: KuryrConfig): Deployment {
  const d = config.DEFAULT;
  const b = config.binding;
  const port = shortName(d.default_port_driver);
  if (!(PORT_DRIVERS as readonly string[]).includes(port)) {
    throw new ConfigError(`[DEFAULT] default_port_driver ${d.default_port_driver} is unknown (one of ${PORT_DRIVERS.join(', ')})`);
  }
  if (!d.enabled_port_drivers.some((e) => e === d.default_port_driver || shortName(e) === port)) {
    throw new ConfigError(`[DEFAULT] default_port_driver ${d.default_port_driver} is not in [DEFAULT] enabled_port_drivers`);
  }
  if (port === 'sriov') throw new ConfigError('[DEFAULT] default_port_driver sriov is not supported by this Kuryr');
  const binding = bindingDriver(config);
  if (!COMPATIBLE[port]!.includes(binding)) {
    throw new ConfigError(`[binding] default_driver ${b.default_driver} is not compatible with port driver ${port} (use ${COMPATIBLE[port]!.join(' or ')})`);
  }
  if (binding === 'ipvlan') {
    // Docker always sets its own MAC on the endpoint's device at Join; an ipvlan device cannot change
    // its MAC, so every Join would fail (kuryr-libnetwork refuses this pair for the same reason).
    throw new ConfigError('[binding] default_driver ipvlan is not supported with the Docker driver (Docker sets a MAC an ipvlan device cannot take); use macvlan');
  }
  return fromBinding(config, binding);
}

/** `kuryr serve cni`: from `[kubernetes] pod_vif_driver` (`neutron-vif`, `nested-macvlan`, `nested-vlan`; ours: `nested-ipvlan`). */
export function cniDeployment(config: KuryrConfig): Deployment {
  const v = config.kubernetes.pod_vif_driver.trim();
  const binding = v === 'neutron-vif' ? 'veth' : v === 'nested-macvlan' ? 'macvlan' : v === 'nested-ipvlan' ? 'ipvlan' : v === 'nested-vlan' ? 'vlan' : undefined;
  if (binding === undefined) {
    throw new ConfigError(`[kubernetes] pod_vif_driver ${v} is not supported (one of neutron-vif, nested-macvlan, nested-ipvlan, nested-vlan)`);
  }
  return fromBinding(config, binding);
}

/** `[binding] default_driver`'s short name, which `[binding] enabled_drivers` must list. */
function bindingDriver(config: KuryrConfig): string {
  const b = config.binding;
  const name = shortName(b.default_driver);
  if (!(BINDING_DRIVERS as readonly string[]).includes(name)) {
    throw new ConfigError(`[binding] default_driver ${b.default_driver} is unknown (one of ${BINDING_DRIVERS.join(', ')})`);
  }
  if (!b.enabled_drivers.some((e) => e === b.default_driver || shortName(e) === name)) {
    throw new ConfigError(`[binding] default_driver ${b.default_driver} is not in [binding] enabled_drivers`);
  }
  return name;
}

function fromBinding(config: KuryrConfig, binding: string): Deployment {
  const linkIface = config.binding.link_iface.trim();
  if (binding === 'macvlan' || binding === 'ipvlan') {
    return { kind: 'nested', mode: binding, linkIface, revUpdateAttempts: Math.max(1, config.pod_vif_nested.rev_update_attempts) };
  }
  if (binding === 'vlan') return { kind: 'vlan', linkIface };
  return { kind: 'veth' };
}
