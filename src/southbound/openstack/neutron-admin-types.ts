/**
 * Neutron resources kuryr itself never touches (routers, trunks) but the southbound client offers,
 * so integration and end-to-end tests can build a topology with the real client.
 */
import type { SubnetCreate } from '../../core/shared/neutron-api.js';
import type { TaggableKind } from '../../core/shared/neutron-types.js';

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

export interface SubPort {
  portId: string;
  segmentationType: string;
  segmentationId: number;
}

export interface Trunk {
  id: string;
  name: string;
  portId: string;
  projectId: string;
  status: string;
  adminStateUp: boolean;
  subPorts: SubPort[];
  tags: string[];
}
