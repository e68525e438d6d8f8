/**
 * The data-plane seam: plugs a Neutron port into the host's L2 and configures the
 * container end. Implemented in `southbound/dataplane`, chosen by `binding:vif_type`.
 */

export interface VifAddress {
  /** Plain IP, no prefix. */
  address: string;
  prefixLength: number;
  family: 4 | 6;
}

export interface VifRoute {
  /** CIDR; `0.0.0.0/0` / `::/0` for a default route. */
  destination: string;
  nexthop: string;
}

/** Everything the data plane needs to know about one Neutron port it plugs. */
export interface Vif {
  portId: string;
  networkId: string;
  projectId: string;
  /** Docker endpoint ID or pod UID; becomes OVS `external_ids:vm-uuid`. */
  deviceId: string;
  macAddress: string;
  /** Network MTU (Neutron `mtu`, 1500 when absent). */
  mtu: number;
  vifType: string;
  vifDetails: Record<string, unknown>;
  addresses: VifAddress[];
  /** Routes for the container side; applied only when the binder moves the device into a netns. */
  routes: VifRoute[];
  /** Host end, `tap` + port id[:11]. */
  hostIfName: string;
  /** Container end while it is still in the host netns, `t_c` + port id[:11]. */
  containerIfName: string;
  /** Nested VLAN: the subport's VLAN id the device tags its traffic with. */
  vlanId?: number;
}

/**
 * Where the container end goes. Docker moves it itself (`null`): the binder leaves it in
 * the host netns configured with MAC, MTU and addresses. CNI hands over a netns path and
 * the final interface name: the binder moves, renames and configures it there, routes included.
 */
export interface VifTarget {
  netnsPath: string;
  ifName: string;
}

export interface PluggedVif {
  portId: string;
  hostIfName: string;
  deviceId: string;
  /** Where it was found: `ovs` (an OVS interface with owner=kuryr) or `link` (a bare tap veth). */
  kind: 'ovs' | 'link';
}

export interface Binder {
  /**
   * Creates the veth pair, plugs the host end by `vif.vifType` and configures the container end.
   * Idempotent: an existing plug of the same port is reused. On failure it removes what it made
   * and throws `BindingError`.
   */
  plug(vif: Vif, target: VifTarget | null): Promise<void>;
  /** Removes the host-side plug and the veth pair. Idempotent: missing devices are success. */
  unplug(vif: Pick<Vif, 'portId' | 'hostIfName' | 'containerIfName' | 'vifType' | 'vifDetails' | 'networkId'>, target: VifTarget | null): Promise<void>;
  /** Plugs this host holds (OVS ports with `owner=kuryr`, `tap*` veths), for reconcilers and leak checks. */
  listPlugged(): Promise<PluggedVif[]>;
}
