/**
 * The pod-network use cases' own types and the ports they need besides `NeutronApi` and `Binder`
 * (docs/cni.md). Protocol-neutral: the CNI adapter maps them to and from the wire.
 */
import type { NamespaceSubnetOptions } from './namespace-networks.js';

/** Which pod a call is for, from CNI_ARGS (containerd sends all three; podman only a name). */
export interface PodRef {
  namespace: string | undefined;
  name: string;
  uid: string | undefined;
}

/** One attachment: the runtime's key for it (container id + interface name). */
export interface AttachmentKey {
  containerId: string;
  ifName: string;
  /** The network (conflist `name`); scopes GC so runtimes sharing the daemon do not collide. */
  network: string;
}

export interface PodAddRequest extends AttachmentKey {
  netns: string;
  pod: PodRef;
  /** Pod annotations (containerd's `io.kubernetes.cri.pod-annotations` capability); see `POD_ANNOTATIONS`. */
  annotations: Record<string, string>;
}

export interface PodDelRequest extends AttachmentKey {
  /** Empty on containerd's later DELs and after the netns is gone. */
  netns: string;
  pod: PodRef;
}

export interface PodIp {
  /** CIDR notation: address/prefix of its subnet. */
  address: string;
  gateway: string | undefined;
  family: 4 | 6;
}

export interface PodRoute {
  dst: string;
  gw: string;
}

/** What ADD made: the Neutron port and both veth ends (nested: only the pod's device, no host end). */
export interface PodAttachment {
  portId: string;
  hostIfName: string | undefined;
  hostMac: string | undefined;
  ifName: string;
  netns: string;
  mac: string;
  mtu: number;
  ips: PodIp[];
  routes: PodRoute[];
  dns: { nameservers: string[] };
}

/** An interface as seen inside a netns. */
export interface NetnsLinkState {
  mac: string;
  mtu: number;
  /** CIDRs. */
  addresses: string[];
  routes: Array<{ dst: string; gw: string | undefined }>;
}

/** Reads one interface of a netns; `null` when the netns or the interface does not exist. */
export interface NetnsInspector {
  inspect(netnsPath: string, ifName: string): Promise<NetnsLinkState | null>;
  /** MAC of a host-netns link, `undefined` when absent (for the result's host interface). */
  hostMac(ifName: string): Promise<string | undefined>;
  /** The host netns's veths, for the garbage collector. */
  hostVeths(): Promise<HostVeth[]>;
}

/** A veth of the host netns; `peerInHost` when its other end is in the host netns too (not in a pod's). */
export interface HostVeth {
  name: string;
  peerInHost: boolean;
}

/** Health of what ADD needs, for STATUS. Each throws when its service cannot be used. */
export interface ControlPlaneProbe {
  keystone(): Promise<void>;
  neutron(): Promise<void>;
  /** The node's data plane (the OVS integration bridge); down means existing pods may be cut off too. */
  dataplane(): Promise<void>;
}

/** The kuryr.conf options the pod use cases read. */
export interface PodNetworkOptions {
  /** `[DEFAULT] host`: `binding:host_id` and the node tag. */
  hostId: string;
  /** `[neutron_defaults] project`; unset lets Neutron use the token's project. */
  projectId: string | undefined;
  /** `[neutron_defaults] pod_subnet`. */
  podSubnetId: string | undefined;
  /** `[neutron_defaults] pod_subnets` (ours): one subnet per IP family for dual-stack pods; wins over `pod_subnet`. */
  podSubnetIds: string[];
  /** `[neutron_defaults] pod_security_groups`; empty lets Neutron apply the project's default group. */
  securityGroups: string[];
  /** `[neutron_defaults] network_device_mtu`; 0 uses the network's MTU. */
  networkDeviceMtu: number;
  /** `[neutron_defaults] resource_tags`, added to every port. */
  resourceTags: string[];
  /** `[cni_daemon] vif_annotation_timeout` in ms: how long ADD waits for the port to become ACTIVE. */
  activeTimeoutMs: number;
  /** How long a looked-up subnet and network are reused, ms. */
  cacheTtlMs: number;
  /** `[kubernetes] pod_subnets_driver = namespace`: each namespace's pods on their own network. */
  namespaceSubnet?: NamespaceSubnetOptions;
}

/** What STATUS found. */
export type ControlPlaneStatus = { ok: true } | { ok: false; service: 'keystone' | 'neutron' | 'dataplane'; message: string };

/** GC's outcome: removed ports and the errors met on the way (GC keeps going past a failed port). */
export interface GcReport {
  removed: string[];
  errors: string[];
}
