/**
 * In-memory Neutron v2.0 with real semantics for what Kuryr uses: UUIDs, tag filters, fixed_ips
 * filters, IP allocation, subnetpool prefix allocation, 409s on in-use deletes, ML2-like binding
 * (vif_type `ovs`, ACTIVE once bound), DHCP ports. Every call yields once, so races interleave.
 */
import { randomUUID } from 'node:crypto';
import { NeutronError } from '../../src/common/errors.js';
import {
  bigIntToIp,
  cidrContains,
  cidrRange,
  cidrsOverlap,
  firstUsableHost,
  normalizeCidr,
  normalizeIp,
  parseIp,
  prefixLength,
  subnetBlock,
} from '../../src/common/cidr.js';
import type {
  ListFilter,
  NetworkCreate,
  NeutronApi,
  PortCreate,
  PortUpdate,
  SecurityGroupCreate,
  SecurityGroupRuleCreate,
  SubnetCreate,
  SubnetPoolCreate,
} from '../../src/core/shared/neutron-api.js';
import type {
  Extension,
  Network,
  Port,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  SubPort,
  SubnetPool,
  TaggableKind,
  Trunk,
} from '../../src/core/shared/neutron-types.js';

export const PROJECT_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
export const OVS_VIF_DETAILS = { datapath_type: 'netdev', bridge_name: 'br-int', ovs_hybrid_plug: false, port_filter: true };

export interface FakeNeutronOptions {
  /** Extension aliases; default includes `standard-attr-tag` and `subnet_allocation`. */
  extensions?: string[];
  /** When a bound port turns ACTIVE: at once, never, or after N `getPort` calls. */
  activation?: 'immediate' | 'never' | { afterGets: number };
  /** Create a `network:dhcp` port on DHCP-enabled subnets (default true). */
  dhcpPorts?: boolean;
  /** Hosts without an L2 agent: binding there gives `binding_failed`. */
  deadHosts?: string[];
}

type Failure = (method: string, args: unknown[]) => Error | undefined;

function err(status: number, type: string, message: string): NeutronError {
  return new NeutronError(`${type}: ${message}`, { status, type });
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeNeutron implements NeutronApi {
  readonly networks = new Map<string, Network>();
  readonly subnets = new Map<string, Subnet>();
  readonly pools = new Map<string, SubnetPool>();
  readonly ports = new Map<string, Port>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly trunks = new Map<string, Trunk>();
  /** Router IDs (routers are made by tests; Kuryr only attaches subnets to one). */
  readonly routers = new Set<string>();
  extensions: string[];
  activation: NonNullable<FakeNeutronOptions['activation']>;
  dhcpPorts: boolean;
  deadHosts: Set<string>;
  /** Number of calls per method name. */
  readonly calls = new Map<string, number>();
  private readonly failures: Failure[] = [];
  private readonly getsSinceBind = new Map<string, number>();

  constructor(opts: FakeNeutronOptions = {}) {
    this.extensions = opts.extensions ?? ['standard-attr-tag', 'subnet_allocation', 'binding', 'security-group', 'net-mtu', 'trunk', 'router'];
    this.activation = opts.activation ?? 'immediate';
    this.dhcpPorts = opts.dhcpPorts ?? true;
    this.deadHosts = new Set(opts.deadHosts ?? []);
  }

  /** Makes matching calls throw (the failure function returns the error, or undefined to pass). */
  failWhen(f: Failure): () => void {
    this.failures.push(f);
    return () => this.failures.splice(this.failures.indexOf(f), 1);
  }

  private async enter(method: string, ...args: unknown[]): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const f of this.failures) {
      const e = f(method, args);
      if (e !== undefined) throw e;
    }
  }

  // ---- extensions -------------------------------------------------------------------------

  async getExtension(alias: string): Promise<Extension | null> {
    await this.enter('getExtension', alias);
    return this.extensions.includes(alias) ? { alias, name: alias, description: alias } : null;
  }

  // ---- filters ----------------------------------------------------------------------------

  private matches(r: Record<string, unknown> & { tags: string[] }, f: ListFilter | undefined): boolean {
    if (f === undefined) return true;
    const eq = (key: keyof ListFilter, field: string): boolean => f[key] === undefined || r[field] === f[key];
    if (!eq('id', 'id') || !eq('name', 'name') || !eq('projectId', 'projectId') || !eq('networkId', 'networkId')) return false;
    if (!eq('subnetpoolId', 'subnetpoolId') || !eq('ipVersion', 'ipVersion') || !eq('deviceId', 'deviceId')) return false;
    if (!eq('deviceOwner', 'deviceOwner') || !eq('hostId', 'hostId') || !eq('shared', 'shared') || !eq('portId', 'portId')) return false;
    if (f.macAddress !== undefined && String(r.macAddress).toLowerCase() !== f.macAddress.toLowerCase()) return false;
    if (f.cidr !== undefined && r.cidr !== f.cidr) return false;
    if (f.securityGroupId !== undefined && r.securityGroupId !== f.securityGroupId) return false;
    if (f.tags !== undefined && !f.tags.every((t) => r.tags.includes(t))) return false;
    if (f.tagsAny !== undefined && !f.tagsAny.some((t) => r.tags.includes(t))) return false;
    if (f.notTags !== undefined && f.notTags.length > 0 && f.notTags.every((t) => r.tags.includes(t))) return false;
    if (f.notTagsAny !== undefined && f.notTagsAny.some((t) => r.tags.includes(t))) return false;
    if (f.fixedIps !== undefined && f.fixedIps.length > 0) {
      // Neutron: one allocation must have subnet_id IN (given) AND ip_address IN (given).
      const subnets = f.fixedIps.flatMap((x) => (x.subnetId !== undefined ? [x.subnetId] : []));
      const ips = f.fixedIps.flatMap((x) => (x.ipAddress !== undefined ? [normalizeIp(x.ipAddress)] : []));
      const fixed = (r.fixedIps as Port['fixedIps'] | undefined) ?? [];
      if (!fixed.some((a) => (subnets.length === 0 || subnets.includes(a.subnetId)) && (ips.length === 0 || ips.includes(normalizeIp(a.ipAddress))))) return false;
    }
    return true;
  }

  private list<T extends { tags: string[] }>(m: Map<string, T>, f?: ListFilter): T[] {
    return [...m.values()].filter((r) => this.matches(r as unknown as Record<string, unknown> & { tags: string[] }, f)).map(clone);
  }

  private need<T>(m: Map<string, T>, id: string, type: string): T {
    const r = m.get(id);
    if (r === undefined) throw err(404, `${type}NotFound`, `${type} ${id} could not be found.`);
    return r;
  }

  // ---- networks ---------------------------------------------------------------------------

  async listNetworks(f?: ListFilter): Promise<Network[]> {
    await this.enter('listNetworks', f);
    return this.list(this.networks, f);
  }

  async getNetwork(id: string): Promise<Network> {
    await this.enter('getNetwork', id);
    return clone(this.need(this.networks, id, 'Network'));
  }

  async createNetwork(b: NetworkCreate): Promise<Network> {
    await this.enter('createNetwork', b);
    const n: Network = {
      id: randomUUID(),
      name: b.name,
      projectId: b.projectId ?? PROJECT_ID,
      adminStateUp: b.adminStateUp ?? true,
      shared: b.shared ?? false,
      status: 'ACTIVE',
      mtu: b.mtu ?? 1450,
      subnetIds: [],
      tags: [],
      networkType: b.providerNetworkType ?? 'vxlan',
      external: b.external ?? false,
    };
    this.networks.set(n.id, n);
    return clone(n);
  }

  async updateNetwork(id: string, b: Partial<NetworkCreate>): Promise<Network> {
    await this.enter('updateNetwork', id, b);
    const n = this.need(this.networks, id, 'Network');
    if (b.name !== undefined) n.name = b.name;
    if (b.shared !== undefined) n.shared = b.shared;
    if (b.adminStateUp !== undefined) n.adminStateUp = b.adminStateUp;
    return clone(n);
  }

  async deleteNetwork(id: string): Promise<void> {
    await this.enter('deleteNetwork', id);
    this.need(this.networks, id, 'Network');
    // Router interfaces keep a network in use, as in Neutron; DHCP ports do not.
    const users = [...this.ports.values()].filter((p) => p.networkId === id && (!p.deviceOwner.startsWith('network:') || p.deviceOwner === 'network:router_interface'));
    if (users.length > 0) throw err(409, 'NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
    for (const p of [...this.ports.values()]) if (p.networkId === id) this.ports.delete(p.id);
    for (const s of [...this.subnets.values()]) if (s.networkId === id) this.subnets.delete(s.id);
    this.networks.delete(id);
  }

  // ---- subnets ----------------------------------------------------------------------------

  async listSubnets(f?: ListFilter): Promise<Subnet[]> {
    await this.enter('listSubnets', f);
    return this.list(this.subnets, f);
  }

  async getSubnet(id: string): Promise<Subnet> {
    await this.enter('getSubnet', id);
    return clone(this.need(this.subnets, id, 'Subnet'));
  }

  async createSubnet(b: SubnetCreate): Promise<Subnet> {
    await this.enter('createSubnet', b);
    return clone(this.makeSubnet(b));
  }

  async createSubnets(bodies: SubnetCreate[]): Promise<Subnet[]> {
    await this.enter('createSubnets', bodies);
    const made: Subnet[] = [];
    try {
      for (const b of bodies) made.push(this.makeSubnet(b));
    } catch (e) {
      for (const s of made) this.removeSubnet(s.id);
      throw e;
    }
    return made.map(clone);
  }

  private makeSubnet(b: SubnetCreate): Subnet {
    const net = this.need(this.networks, b.networkId, 'Network');
    let cidr = b.cidr !== undefined ? normalizeCidr(b.cidr) : undefined;
    if (b.subnetpoolId !== undefined) {
      const pool = this.need(this.pools, b.subnetpoolId, 'SubnetPool');
      const taken = [...this.subnets.values()].filter((s) => s.subnetpoolId === pool.id).map((s) => s.cidr);
      if (cidr !== undefined) {
        if (!pool.prefixes.some((p) => cidrContains(p, cidr as string))) throw err(400, 'BadRequest', `Cidr ${cidr} is not within subnetpool ${pool.id} prefixes`);
        if (taken.some((t) => cidrsOverlap(t, cidr as string))) throw err(409, 'SubnetAllocationError', `Failed to allocate subnet: ${cidr} overlaps an allocation of pool ${pool.id}`);
      } else {
        const len = b.prefixlen ?? pool.defaultPrefixlen;
        cidr = this.carve(pool, len, taken);
      }
      if (pool.ipVersion !== b.ipVersion) throw err(400, 'BadRequest', 'ip_version does not match the subnetpool');
    }
    if (cidr === undefined) throw err(400, 'BadRequest', 'a cidr or a subnetpool_id is required');
    if ((parseIp(cidr.split('/')[0] as string).family === 6 ? 6 : 4) !== b.ipVersion) throw err(400, 'BadRequest', `cidr ${cidr} is not IPv${b.ipVersion}`);
    const c = cidr;
    for (const s of this.subnets.values()) {
      if (s.networkId === net.id && cidrsOverlap(s.cidr, c)) throw err(400, 'BadRequest', `Invalid input for operation: Requested subnet with cidr: ${c} for network: ${net.id} overlaps with another subnet.`);
    }
    const gatewayIp = b.gatewayIp === null ? null : b.gatewayIp !== undefined ? normalizeIp(b.gatewayIp) : firstUsableHost(c);
    const s: Subnet = {
      id: randomUUID(),
      name: b.name ?? '',
      networkId: net.id,
      projectId: b.projectId ?? PROJECT_ID,
      ipVersion: b.ipVersion,
      cidr: c,
      gatewayIp,
      subnetpoolId: b.subnetpoolId ?? null,
      enableDhcp: b.enableDhcp ?? true,
      hostRoutes: b.hostRoutes ?? [],
      dnsNameservers: b.dnsNameservers ?? [],
      allocationPools: b.allocationPools ?? [],
      ipv6AddressMode: b.ipv6AddressMode ?? null,
      ipv6RaMode: b.ipv6RaMode ?? null,
      tags: [],
    };
    this.subnets.set(s.id, s);
    net.subnetIds.push(s.id);
    if (s.enableDhcp && this.dhcpPorts) this.addDhcpAddress(net.id, s);
    return s;
  }

  private carve(pool: SubnetPool, len: number, taken: string[]): string {
    for (const prefix of pool.prefixes) {
      for (let i = 0n; ; i++) {
        const block = subnetBlock(prefix, Math.max(len, prefixLength(prefix)), i);
        if (block === undefined) break;
        if (!taken.some((t) => cidrsOverlap(t, block))) return block;
      }
    }
    throw err(409, 'SubnetAllocationError', `Failed to allocate subnet from pool ${pool.id}`);
  }

  private addDhcpAddress(networkId: string, s: Subnet): void {
    let dhcp = [...this.ports.values()].find((p) => p.networkId === networkId && p.deviceOwner === 'network:dhcp');
    if (dhcp === undefined) {
      dhcp = this.blankPort(networkId, '', 'network:dhcp', `dhcp-${networkId}`);
      dhcp.status = 'ACTIVE';
      this.ports.set(dhcp.id, dhcp);
    }
    dhcp.fixedIps.push({ subnetId: s.id, ipAddress: this.allocateIp(s) });
  }

  async deleteSubnet(id: string): Promise<void> {
    await this.enter('deleteSubnet', id);
    this.need(this.subnets, id, 'Subnet');
    const users = [...this.ports.values()].filter((p) => !p.deviceOwner.startsWith('network:') && p.fixedIps.some((f) => f.subnetId === id));
    if (users.length > 0) throw err(409, 'SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
    this.removeSubnet(id);
  }

  private removeSubnet(id: string): void {
    for (const p of [...this.ports.values()]) {
      if (!p.fixedIps.some((f) => f.subnetId === id)) continue;
      p.fixedIps = p.fixedIps.filter((f) => f.subnetId !== id);
      if (p.fixedIps.length === 0 && p.deviceOwner === 'network:dhcp') this.ports.delete(p.id);
    }
    const s = this.subnets.get(id);
    const net = s !== undefined ? this.networks.get(s.networkId) : undefined;
    if (net !== undefined) net.subnetIds = net.subnetIds.filter((x) => x !== id);
    this.subnets.delete(id);
  }

  // ---- subnetpools ------------------------------------------------------------------------

  async listSubnetPools(f?: ListFilter): Promise<SubnetPool[]> {
    await this.enter('listSubnetPools', f);
    return this.list(this.pools, f);
  }

  async getSubnetPool(id: string): Promise<SubnetPool> {
    await this.enter('getSubnetPool', id);
    return clone(this.need(this.pools, id, 'SubnetPool'));
  }

  async createSubnetPool(b: SubnetPoolCreate): Promise<SubnetPool> {
    await this.enter('createSubnetPool', b);
    const prefixes = b.prefixes.map((p) => normalizeCidr(p));
    const family = parseIp((prefixes[0] ?? '').split('/')[0] as string).family;
    const p: SubnetPool = {
      id: randomUUID(),
      name: b.name,
      projectId: b.projectId ?? PROJECT_ID,
      prefixes,
      defaultPrefixlen: b.defaultPrefixlen ?? b.minPrefixlen ?? (family === 6 ? 64 : 8),
      minPrefixlen: b.minPrefixlen ?? (family === 6 ? 64 : 8),
      maxPrefixlen: b.maxPrefixlen ?? (family === 6 ? 128 : 32),
      ipVersion: family,
      shared: b.shared ?? false,
      isDefault: b.isDefault ?? false,
      tags: [],
    };
    this.pools.set(p.id, p);
    return clone(p);
  }

  async deleteSubnetPool(id: string): Promise<void> {
    await this.enter('deleteSubnetPool', id);
    this.need(this.pools, id, 'SubnetPool');
    if ([...this.subnets.values()].some((s) => s.subnetpoolId === id)) {
      throw err(409, 'SubnetPoolInUse', `Unable to complete operation on subnet pool ${id}. Subnet pool has existing allocations.`);
    }
    this.pools.delete(id);
  }

  // ---- ports ------------------------------------------------------------------------------

  private blankPort(networkId: string, name: string, deviceOwner: string, deviceId: string): Port {
    return {
      id: randomUUID(),
      name,
      networkId,
      projectId: PROJECT_ID,
      macAddress: this.randomMac(),
      adminStateUp: true,
      status: 'DOWN',
      fixedIps: [],
      deviceId,
      deviceOwner,
      hostId: '',
      vifType: 'unbound',
      vifDetails: {},
      vnicType: 'normal',
      bindingProfile: {},
      securityGroups: [],
      portSecurityEnabled: true,
      allowedAddressPairs: [],
      tags: [],
      revisionNumber: 1,
      trunkDetails: undefined,
    };
  }

  private randomMac(): string {
    const b = () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
    return `fa:16:3e:${b()}:${b()}:${b()}`;
  }

  private inUse(subnetId: string): Set<string> {
    const used = new Set<string>();
    for (const p of this.ports.values()) for (const f of p.fixedIps) if (f.subnetId === subnetId) used.add(normalizeIp(f.ipAddress));
    return used;
  }

  private allocateIp(s: Subnet, wanted?: string): string {
    const used = this.inUse(s.id);
    if (wanted !== undefined) {
      const ip = normalizeIp(wanted);
      if (!cidrContains(s.cidr, ip)) throw err(400, 'InvalidIpForSubnet', `IP address ${ip} is not a valid IP for the specified subnet.`);
      if (used.has(ip) || (s.gatewayIp !== null && normalizeIp(s.gatewayIp) === ip)) {
        throw err(409, 'IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${s.id}`);
      }
      return ip;
    }
    const r = cidrRange(s.cidr);
    const start = s.gatewayIp !== null ? parseIp(s.gatewayIp).value + 1n : r.first + 1n;
    const last = r.family === 4 ? r.last - 1n : r.last;
    for (let v = start; v <= last; v++) {
      const ip = bigIntToIp(r.family, v);
      if (!used.has(ip) && ip !== s.gatewayIp) return ip;
    }
    for (let v = r.first + 1n; v < start; v++) {
      const ip = bigIntToIp(r.family, v);
      if (!used.has(ip) && ip !== s.gatewayIp) return ip;
    }
    throw err(409, 'IpAddressGenerationFailure', `No more IP addresses available on subnet ${s.id}.`);
  }

  private allocateFixedIps(networkId: string, wanted: PortCreate['fixedIps']): Port['fixedIps'] {
    const onNet = [...this.subnets.values()].filter((s) => s.networkId === networkId);
    if (wanted === undefined) {
      const out: Port['fixedIps'] = [];
      for (const v of [4, 6] as const) {
        const s = onNet.find((x) => x.ipVersion === v);
        if (s !== undefined) out.push({ subnetId: s.id, ipAddress: this.allocateIp(s) });
      }
      return out;
    }
    const out: Port['fixedIps'] = [];
    for (const w of wanted) {
      // Neutron answers 404 SubnetNotFound for an unknown subnet_id, 400 for one on another network.
      if (w.subnetId !== undefined) this.need(this.subnets, w.subnetId, 'Subnet');
      const s = w.subnetId !== undefined ? this.subnets.get(w.subnetId) : onNet.find((x) => w.ipAddress !== undefined && cidrContains(x.cidr, w.ipAddress));
      if (s === undefined || s.networkId !== networkId) throw err(400, 'InvalidInput', `Invalid fixed_ip ${JSON.stringify(w)} for network ${networkId}`);
      const ip = this.allocateIp(s, w.ipAddress);
      if (out.some((o) => o.ipAddress === ip)) throw err(409, 'IpAddressAlreadyAllocated', `IP address ${ip} requested twice`);
      out.push({ subnetId: s.id, ipAddress: ip });
    }
    return out;
  }

  private bind(p: Port, hostId: string): void {
    p.hostId = hostId;
    this.getsSinceBind.delete(p.id);
    if (hostId === '') {
      p.vifType = 'unbound';
      p.vifDetails = {};
      p.status = 'DOWN';
    } else if (this.deadHosts.has(hostId)) {
      p.vifType = 'binding_failed';
      p.vifDetails = {};
      p.status = 'DOWN';
    } else {
      p.vifType = 'ovs';
      p.vifDetails = { ...OVS_VIF_DETAILS };
      p.status = this.activation === 'immediate' ? 'ACTIVE' : 'DOWN';
      if (typeof this.activation === 'object') this.getsSinceBind.set(p.id, 0);
    }
  }

  async listPorts(f?: ListFilter): Promise<Port[]> {
    await this.enter('listPorts', f);
    return this.list(this.ports, f);
  }

  async getPort(id: string): Promise<Port> {
    await this.enter('getPort', id);
    const p = this.need(this.ports, id, 'Port');
    const n = this.getsSinceBind.get(id);
    if (n !== undefined && typeof this.activation === 'object') {
      if (n + 1 >= this.activation.afterGets) {
        p.status = 'ACTIVE';
        this.getsSinceBind.delete(id);
      } else this.getsSinceBind.set(id, n + 1);
    }
    return clone(p);
  }

  async createPort(b: PortCreate): Promise<Port> {
    await this.enter('createPort', b);
    return clone(this.makePort(b));
  }

  async createPorts(bodies: PortCreate[]): Promise<Port[]> {
    await this.enter('createPorts', bodies);
    return bodies.map((b) => clone(this.makePort(b)));
  }

  private makePort(b: PortCreate): Port {
    this.need(this.networks, b.networkId, 'Network');
    const mac = b.macAddress?.toLowerCase();
    if (mac !== undefined && [...this.ports.values()].some((p) => p.networkId === b.networkId && p.macAddress === mac)) {
      throw err(409, 'MacAddressInUse', `Unable to complete operation for network ${b.networkId}. The mac address ${mac} is in use.`);
    }
    const p = this.blankPort(b.networkId, b.name ?? '', b.deviceOwner ?? '', b.deviceId ?? '');
    p.fixedIps = this.allocateFixedIps(b.networkId, b.fixedIps);
    if (mac !== undefined) p.macAddress = mac;
    if (b.adminStateUp !== undefined) p.adminStateUp = b.adminStateUp;
    if (b.securityGroups !== undefined) p.securityGroups = [...b.securityGroups];
    if (b.vnicType !== undefined) p.vnicType = b.vnicType;
    if (b.projectId !== undefined) p.projectId = b.projectId;
    if (b.tags !== undefined) p.tags = [...b.tags];
    this.ports.set(p.id, p);
    if (b.hostId !== undefined && b.hostId !== '') this.bind(p, b.hostId);
    return p;
  }

  async updatePort(id: string, b: PortUpdate, opts: { ifRevision?: number } = {}): Promise<Port> {
    await this.enter('updatePort', id, b, opts);
    const p = this.need(this.ports, id, 'Port');
    if (opts.ifRevision !== undefined && opts.ifRevision !== p.revisionNumber) {
      throw err(412, 'RevisionNumberConstraintFailed', `Constrained to ${opts.ifRevision}, but current revision is ${p.revisionNumber}`);
    }
    const mac = b.macAddress?.toLowerCase();
    if (mac !== undefined && mac !== p.macAddress) {
      if (p.vifType !== 'unbound' && p.vifType !== 'binding_failed') throw err(409, 'PortBound', `Unable to complete operation on port ${id}, port is already bound, port type: ${p.vifType}, old_mac ${p.macAddress}, new_mac ${mac}.`);
      if ([...this.ports.values()].some((o) => o.networkId === p.networkId && o.macAddress === mac)) throw err(409, 'MacAddressInUse', `The mac address ${mac} is in use.`);
    }
    if (b.fixedIps !== undefined) {
      const saved = p.fixedIps;
      p.fixedIps = [];
      try {
        p.fixedIps = this.allocateFixedIps(p.networkId, b.fixedIps);
      } catch (e) {
        p.fixedIps = saved;
        throw e;
      }
    }
    if (mac !== undefined) p.macAddress = mac;
    if (b.name !== undefined) p.name = b.name;
    if (b.adminStateUp !== undefined) p.adminStateUp = b.adminStateUp;
    if (b.deviceId !== undefined) p.deviceId = b.deviceId;
    if (b.deviceOwner !== undefined) p.deviceOwner = b.deviceOwner;
    if (b.securityGroups !== undefined) {
      for (const sg of b.securityGroups) this.need(this.securityGroups, sg, 'SecurityGroup');
      p.securityGroups = [...b.securityGroups];
    }
    if (b.allowedAddressPairs !== undefined) p.allowedAddressPairs = b.allowedAddressPairs;
    if (b.bindingProfile !== undefined) p.bindingProfile = b.bindingProfile;
    if (b.portSecurityEnabled !== undefined) p.portSecurityEnabled = b.portSecurityEnabled;
    if (b.hostId !== undefined && b.hostId !== p.hostId) this.bind(p, b.hostId);
    p.revisionNumber += 1;
    return clone(p);
  }

  async deletePort(id: string): Promise<void> {
    await this.enter('deletePort', id);
    this.need(this.ports, id, 'Port');
    this.ports.delete(id);
  }

  // ---- security groups --------------------------------------------------------------------

  async listSecurityGroups(f?: ListFilter): Promise<SecurityGroup[]> {
    await this.enter('listSecurityGroups', f);
    return this.list(this.securityGroups, f);
  }

  async createSecurityGroup(b: SecurityGroupCreate): Promise<SecurityGroup> {
    await this.enter('createSecurityGroup', b);
    const id = randomUUID();
    const egress = (ethertype: 'IPv4' | 'IPv6'): SecurityGroupRule => ({
      id: randomUUID(), securityGroupId: id, direction: 'egress', ethertype, protocol: null,
      portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, description: '',
    });
    const sg: SecurityGroup = { id, name: b.name, description: b.description ?? '', projectId: b.projectId ?? PROJECT_ID, rules: [egress('IPv4'), egress('IPv6')], tags: [] };
    this.securityGroups.set(id, sg);
    return clone(sg);
  }

  async deleteSecurityGroup(id: string): Promise<void> {
    await this.enter('deleteSecurityGroup', id);
    this.need(this.securityGroups, id, 'SecurityGroup');
    if ([...this.ports.values()].some((p) => p.securityGroups.includes(id))) throw err(409, 'SecurityGroupInUse', `Security Group ${id} in use.`);
    this.securityGroups.delete(id);
  }

  async createSecurityGroupRule(b: SecurityGroupRuleCreate): Promise<SecurityGroupRule> {
    await this.enter('createSecurityGroupRule', b);
    const sg = this.need(this.securityGroups, b.securityGroupId, 'SecurityGroup');
    const r: SecurityGroupRule = {
      id: randomUUID(), securityGroupId: sg.id, direction: b.direction, ethertype: b.ethertype ?? 'IPv4', protocol: b.protocol ?? null,
      portRangeMin: b.portRangeMin ?? null, portRangeMax: b.portRangeMax ?? null, remoteIpPrefix: b.remoteIpPrefix ?? null,
      remoteGroupId: b.remoteGroupId ?? null, description: b.description ?? '',
    };
    const dup = sg.rules.find((x) => x.direction === r.direction && x.ethertype === r.ethertype && x.protocol === r.protocol && x.portRangeMin === r.portRangeMin && x.portRangeMax === r.portRangeMax && x.remoteIpPrefix === r.remoteIpPrefix);
    if (dup !== undefined) throw err(409, 'SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${dup.id}.`);
    sg.rules.push(r);
    return clone(r);
  }

  async deleteSecurityGroupRule(id: string): Promise<void> {
    await this.enter('deleteSecurityGroupRule', id);
    for (const sg of this.securityGroups.values()) {
      const before = sg.rules.length;
      sg.rules = sg.rules.filter((r) => r.id !== id);
      if (sg.rules.length !== before) return;
    }
    throw err(404, 'SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);
  }

  // ---- routers (minimal) ------------------------------------------------------------------

  /** Not on `NeutronApi` (Kuryr never creates routers): tests make `pod_router` with it. */
  createRouter(): string {
    const id = randomUUID();
    this.routers.add(id);
    return id;
  }

  async addRouterInterface(routerId: string, ref: { subnetId?: string; portId?: string }): Promise<{ portId: string; subnetId: string }> {
    await this.enter('addRouterInterface', routerId, ref);
    if (!this.routers.has(routerId)) throw err(404, 'RouterNotFound', `Router ${routerId} could not be found`);
    const s = this.need(this.subnets, ref.subnetId ?? '', 'Subnet');
    const p = this.blankPort(s.networkId, '', 'network:router_interface', routerId);
    p.fixedIps = [{ subnetId: s.id, ipAddress: s.gatewayIp ?? this.allocateIp(s) }];
    p.status = 'ACTIVE';
    this.ports.set(p.id, p);
    return { portId: p.id, subnetId: s.id };
  }

  async removeRouterInterface(routerId: string, ref: { subnetId?: string; portId?: string }): Promise<void> {
    await this.enter('removeRouterInterface', routerId, ref);
    if (!this.routers.has(routerId)) throw err(404, 'RouterNotFound', `Router ${routerId} could not be found`);
    const found = [...this.ports.values()].filter((p) => p.deviceId === routerId && (p.id === ref.portId || p.fixedIps.some((f) => f.subnetId === ref.subnetId)));
    if (found.length === 0) throw err(404, 'RouterInterfaceNotFoundForSubnet', `Router ${routerId} has no interface on subnet ${ref.subnetId}`);
    for (const p of found) this.ports.delete(p.id);
  }

  // ---- trunks (minimal) -------------------------------------------------------

  async listTrunks(f?: ListFilter): Promise<Trunk[]> {
    await this.enter('listTrunks', f);
    return this.list(this.trunks, f);
  }

  /** Not on `NeutronApi` (Kuryr never creates trunks): tests make the VM's trunk with it. */
  async createTrunk(b: { portId: string; name?: string; projectId?: string; adminStateUp?: boolean; subPorts?: SubPort[] }): Promise<Trunk> {
    await this.enter('createTrunk', b);
    const t: Trunk = { id: randomUUID(), name: b.name ?? '', portId: b.portId, projectId: b.projectId ?? PROJECT_ID, status: 'ACTIVE', adminStateUp: b.adminStateUp ?? true, subPorts: b.subPorts ?? [], tags: [] };
    this.trunks.set(t.id, t);
    return clone(t);
  }

  async deleteTrunk(id: string): Promise<void> {
    await this.enter('deleteTrunk', id);
    this.need(this.trunks, id, 'Trunk');
    this.trunks.delete(id);
  }

  async addSubports(trunkId: string, subPorts: SubPort[]): Promise<Trunk> {
    await this.enter('addSubports', trunkId, subPorts);
    const t = this.need(this.trunks, trunkId, 'Trunk');
    for (const sp of subPorts) {
      const p = this.ports.get(sp.portId);
      if (p && p.deviceId !== '') throw err(409, 'PortInUse', `Port ${p.id} already has an attached device ${p.deviceId}.`);
      // Neutron refuses a VLAN id (or a port) already on the trunk, for the whole request.
      if (t.subPorts.some((o) => o.segmentationId === sp.segmentationId || o.portId === sp.portId)) {
        throw err(409, 'DuplicateSubPort', `segmentation_type ${sp.segmentationType}, segmentation_id ${sp.segmentationId} and port_id ${sp.portId} already in use by trunk ${trunkId}`);
      }
    }
    t.subPorts.push(...subPorts);
    for (const sp of subPorts) {
      const p = this.ports.get(sp.portId);
      if (p) Object.assign(p, { deviceOwner: 'trunk:subport', deviceId: trunkId });
    }
    return clone(t);
  }

  async removeSubports(trunkId: string, portIds: string[]): Promise<Trunk> {
    await this.enter('removeSubports', trunkId, portIds);
    const t = this.need(this.trunks, trunkId, 'Trunk');
    t.subPorts = t.subPorts.filter((s) => !portIds.includes(s.portId));
    for (const id of portIds) {
      const p = this.ports.get(id);
      if (p?.deviceOwner === 'trunk:subport') Object.assign(p, { deviceOwner: '', deviceId: '' });
    }
    return clone(t);
  }

  // ---- tags -------------------------------------------------------------------------------

  private taggable(kind: TaggableKind, id: string): { tags: string[] } {
    const maps: Record<TaggableKind, Map<string, { tags: string[] }>> = {
      networks: this.networks, subnets: this.subnets, subnetpools: this.pools, ports: this.ports,
      'security-groups': this.securityGroups,
    };
    return this.need(maps[kind], id, kind);
  }

  async addTag(kind: TaggableKind, id: string, tag: string): Promise<void> {
    await this.enter('addTag', kind, id, tag);
    const r = this.taggable(kind, id);
    if (tag.length > 60) throw err(400, 'InvalidInput', `tag ${tag} is longer than 60 characters`);
    if (!r.tags.includes(tag)) r.tags.push(tag);
  }

  async removeTag(kind: TaggableKind, id: string, tag: string): Promise<void> {
    await this.enter('removeTag', kind, id, tag);
    const r = this.taggable(kind, id);
    r.tags = r.tags.filter((t) => t !== tag);
  }

  async setTags(kind: TaggableKind, id: string, tags: string[]): Promise<string[]> {
    await this.enter('setTags', kind, id, tags);
    const r = this.taggable(kind, id);
    r.tags = [...new Set(tags)];
    return [...r.tags];
  }

  // ---- test helpers -----------------------------------------------------------------------

  /** Ports that are not Neutron-owned (DHCP, router). */
  userPorts(): Port[] {
    return [...this.ports.values()].filter((p) => !p.deviceOwner.startsWith('network:')).map(clone);
  }

  /** True when nothing but `keep` ids is left. */
  isEmptyExcept(keep: string[] = []): boolean {
    const all = [...this.networks.keys(), ...this.subnets.keys(), ...this.pools.keys(), ...this.userPorts().map((p) => p.id), ...this.securityGroups.keys()];
    return all.every((id) => keep.includes(id));
  }
}
