/**
 * How a pod's Neutron port is named and tagged, and the pod annotations the daemon honours.
 * Pure functions. Neutron caps a tag at 60 characters, so every value is cut to fit (`fitTag`).
 */
import { fitTag } from '../shared/tag-limit.js';
import type { AttachmentKey, PodRef } from './pod-model.js';

/** Node that created the port: GC and leak checks select on it. */
export const TAG_NODE = 'kuryr.cni.node:';
/** First 40 characters of CNI_CONTAINERID: DEL, CHECK and GC find the attachment by it. */
export const TAG_CID = 'kuryr.cni.cid:';
export const TAG_IF = 'kuryr.cni.if:';
/** Conflist `name`. */
export const TAG_NET = 'kuryr.cni.net:';
export const TAG_POD_NS = 'kuryr.pod.ns:';
export const TAG_POD_NAME = 'kuryr.pod.name:';
export const TAG_POD_UID = 'kuryr.pod.uid:';
export const CID_TAG_CHARS = 40;

/** Pod annotations (from `io.kubernetes.cri.pod-annotations`) that override `[neutron_defaults]`. */
export const POD_ANNOTATIONS = {
  /** A Neutron subnet ID instead of `pod_subnet`. */
  subnet: 'openstack.org/kuryr-pod-subnet',
  /** Comma-separated security group IDs instead of `pod_security_groups`. */
  securityGroups: 'openstack.org/kuryr-pod-security-groups',
} as const;

/** `prefix + value`, the value cut so the tag stays within Neutron's 60 characters (commas would split filters). */
export function tag(prefix: string, value: string): string {
  return fitTag(prefix + value.replaceAll(',', '_'));
}

export function nodeTag(hostId: string): string {
  return tag(TAG_NODE, hostId);
}

/** The tags that identify one attachment; DEL/CHECK list ports having all of them. */
export function attachmentTags(hostId: string, key: AttachmentKey): string[] {
  return [nodeTag(hostId), tag(TAG_CID, key.containerId.slice(0, CID_TAG_CHARS)), tag(TAG_IF, key.ifName), tag(TAG_NET, key.network)];
}

/** Every tag of a pod port: the attachment's, the pod's identity, and `resource_tags`. */
export function podPortTags(hostId: string, key: AttachmentKey, pod: PodRef, resourceTags: string[]): string[] {
  const tags = attachmentTags(hostId, key);
  if (pod.namespace) tags.push(tag(TAG_POD_NS, pod.namespace));
  tags.push(tag(TAG_POD_NAME, pod.name));
  if (pod.uid) tags.push(tag(TAG_POD_UID, pod.uid));
  return [...new Set([...tags, ...resourceTags.map(fitTag)])];
}

/** The value of the first tag with `prefix`, or undefined. */
export function tagValue(tags: readonly string[], prefix: string): string | undefined {
  return tags.find((t) => t.startsWith(prefix))?.slice(prefix.length);
}

/** True when a port's tags name this attachment (container id compared on its first 40 characters). */
export function isAttachment(tags: readonly string[], containerId: string, ifName: string): boolean {
  return tagValue(tags, TAG_CID) === containerId.slice(0, CID_TAG_CHARS) && tagValue(tags, TAG_IF) === ifName;
}

/** Port name: the pod name (Neutron allows 255 characters; Kubernetes names are at most 253). */
export function podPortName(pod: PodRef): string {
  return pod.name.slice(0, 255);
}

/** `device_id`: the pod UID, else the container id (podman sends no UID). */
export function podDeviceId(pod: PodRef, containerId: string): string {
  return pod.uid ?? containerId;
}

/** Subnet and security groups for a pod: annotations first, then the configured defaults. */
export function podPlacement(
  annotations: Record<string, string>,
  defaults: { subnetId: string | undefined; securityGroups: string[] },
): { subnetId: string | undefined; securityGroups: string[] } {
  const subnet = annotations[POD_ANNOTATIONS.subnet]?.trim();
  const sgs = annotations[POD_ANNOTATIONS.securityGroups];
  return {
    subnetId: subnet || defaults.subnetId,
    securityGroups: sgs !== undefined ? sgs.split(',').map((s) => s.trim()).filter(Boolean) : defaults.securityGroups,
  };
}
