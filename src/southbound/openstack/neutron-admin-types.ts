/**
 * Neutron resources kuryr itself never creates (routers, trunks) but the southbound client offers,
 * so integration and end-to-end tests can build a topology with the real client. (Nested VLAN mode
 * reads trunks and changes their subports: those types live with core's.)
 */
import type { SubnetCreate } from '../../core/shared/neutron-api.js';
import type { SubPort, TaggableKind } from '../../core/shared/neutron-types.js';

export type { SubPort, Trunk } from '../../core/shared/neutron-types.js';

/** Every resource kind the client can tag: what core tags, plus routers and trunks. */
export type AnyTaggableKind = TaggableKind | 'routers' | 'trunks';

/** The fields of a subnet Neutron lets one change. */
export type SubnetUpdate = Partial<Omit<SubnetCreate, 'networkId' | 'ipVersion' | 'cidr' | 'subnetpoolId' | 'prefixlen'>>;

export interface RouterCreate {
  name: string;
  adminStateUp?: boolean;
  externalNetworkId?: string;
  projectId?: string;
}

export interface TrunkCreate {
  portId: string;
  name?: string;
  adminStateUp?: boolean;
  subPorts?: SubPort[];
  projectId?: string;
}

export interface Router {
  id: string;
  name: string;
  projectId: string;
  status: string;
  adminStateUp: boolean;
  externalGatewayInfo: { networkId: string; enableSnat?: boolean } | null;
  tags: string[];
}
