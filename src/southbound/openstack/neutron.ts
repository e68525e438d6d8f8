import { AuthError, NeutronError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type { ListFilter, NetworkCreate, NeutronApi, PortCreate, PortUpdate, SecurityGroupCreate, SecurityGroupRuleCreate, SubnetCreate, SubnetPoolCreate } from '../../core/shared/neutron-api.js';
import type { Extension, Network, Port, SecurityGroup, SecurityGroupRule, Subnet, SubnetPool } from '../../core/shared/neutron-types.js';
import type { AnyTaggableKind, Router, RouterCreate, SubPort, SubnetUpdate, Trunk, TrunkCreate } from './neutron-admin-types.js';
import { OpenStackHttp, requestIdOf, type HttpRequest, type HttpResponse } from './http.js';
import type { TokenSource } from './keystone.js';
import * as wire from './neutron-wire.js';

export interface NeutronClientOptions {
  auth: TokenSource;
  /** Shared HTTP layer; one is created (and owned) when absent. */
  http?: OpenStackHttp;
  /** Use this base URL instead of the catalog's `network` endpoint (`[neutron] endpoint_override`). */
  endpointOverride?: string;
  /** Catalog interface: `public` (default), `internal`, `admin`. */
  interface?: string;
  region?: string;
  timeoutMs?: number;
  logger?: Logger;
}

interface CallOptions {
  query?: URLSearchParams;
  body?: unknown;
  idempotent?: boolean;
  headers?: Record<string, string>;
}

/** Neutron v2.0 over Keystone tokens: typed calls, pagination, one re-auth on 401, typed errors. */
export class NeutronClient implements NeutronApi {
  private readonly auth: TokenSource;
  private readonly http: OpenStackHttp;
  private readonly ownsHttp: boolean;
  private readonly endpointOverride: string | undefined;
  private readonly iface: string;
  private readonly region: string | undefined;
  private readonly logger: Logger;

  constructor(opts: NeutronClientOptions) {
    this.auth = opts.auth;
    this.logger = opts.logger ?? silentLogger();
    this.ownsHttp = !opts.http;
    this.http = opts.http ?? new OpenStackHttp({ timeoutMs: opts.timeoutMs, logger: this.logger });
    this.endpointOverride = opts.endpointOverride;
    this.iface = opts.interface ?? 'public';
    this.region = opts.region;
  }

  async close(): Promise<void> {
    if (this.ownsHttp) await this.http.close();
  }

  // --- extensions -------------------------------------------------------------------------

  async listExtensions(): Promise<Extension[]> {
    const body = await this.call<{ extensions: wire.ExtensionWire[] }>('GET', '/extensions');
    return body.extensions.map(wire.extensionToDomain);
  }

  async getExtension(alias: string): Promise<Extension | null> {
    try {
      const body = await this.call<{ extension: wire.ExtensionWire }>('GET', `/extensions/${enc(alias)}`);
      return wire.extensionToDomain(body.extension);
    } catch (err) {
      if (err instanceof NeutronError && err.status === 404) return null;
      throw err;
    }
  }

  // --- networks ---------------------------------------------------------------------------

  async listNetworks(filter?: ListFilter): Promise<Network[]> {
    return (await this.list<wire.NetworkWire>('networks', filter)).map(wire.networkToDomain);
  }
  async getNetwork(id: string): Promise<Network> {
    return wire.networkToDomain(await this.show('networks', 'network', id));
  }
  async createNetwork(body: NetworkCreate): Promise<Network> {
    return wire.networkToDomain(await this.create('networks', 'network', wire.networkCreateToWire(body)));
  }
  async updateNetwork(id: string, body: Partial<NetworkCreate>): Promise<Network> {
    return wire.networkToDomain(await this.update('networks', 'network', id, wire.networkCreateToWire(body)));
  }
  async deleteNetwork(id: string): Promise<void> {
    await this.call('DELETE', `/networks/${enc(id)}`);
  }

  // --- subnets ----------------------------------------------------------------------------

  async listSubnets(filter?: ListFilter): Promise<Subnet[]> {
    return (await this.list<wire.SubnetWire>('subnets', filter)).map(wire.subnetToDomain);
  }
  async getSubnet(id: string): Promise<Subnet> {
    return wire.subnetToDomain(await this.show('subnets', 'subnet', id));
  }
  async createSubnet(body: SubnetCreate): Promise<Subnet> {
    return wire.subnetToDomain(await this.create('subnets', 'subnet', wire.subnetCreateToWire(body)));
  }
  async createSubnets(bodies: SubnetCreate[]): Promise<Subnet[]> {
    const res = await this.call<{ subnets: wire.SubnetWire[] }>('POST', '/subnets', { body: { subnets: bodies.map(wire.subnetCreateToWire) } });
    return res.subnets.map(wire.subnetToDomain);
  }
  async updateSubnet(id: string, body: SubnetUpdate): Promise<Subnet> {
    return wire.subnetToDomain(await this.update('subnets', 'subnet', id, wire.subnetCreateToWire(body)));
  }
  async deleteSubnet(id: string): Promise<void> {
    await this.call('DELETE', `/subnets/${enc(id)}`);
  }

  // --- subnet pools -----------------------------------------------------------------------

  async listSubnetPools(filter?: ListFilter): Promise<SubnetPool[]> {
    return (await this.list<wire.SubnetPoolWire>('subnetpools', filter)).map(wire.subnetPoolToDomain);
  }
  async getSubnetPool(id: string): Promise<SubnetPool> {
    return wire.subnetPoolToDomain(await this.show('subnetpools', 'subnetpool', id));
  }
  async createSubnetPool(body: SubnetPoolCreate): Promise<SubnetPool> {
    return wire.subnetPoolToDomain(await this.create('subnetpools', 'subnetpool', wire.subnetPoolCreateToWire(body)));
  }
  async deleteSubnetPool(id: string): Promise<void> {
    await this.call('DELETE', `/subnetpools/${enc(id)}`);
  }

  // --- ports ------------------------------------------------------------------------------

  async listPorts(filter?: ListFilter): Promise<Port[]> {
    return (await this.list<wire.PortWire>('ports', filter)).map(wire.portToDomain);
  }
  async getPort(id: string): Promise<Port> {
    return wire.portToDomain(await this.show('ports', 'port', id));
  }
  async createPort(body: PortCreate): Promise<Port> {
    return wire.portToDomain(await this.create('ports', 'port', wire.portCreateToWire(body)));
  }
  async createPorts(bodies: PortCreate[]): Promise<Port[]> {
    const res = await this.call<{ ports: wire.PortWire[] }>('POST', '/ports', { body: { ports: bodies.map(wire.portCreateToWire) } });
    return res.ports.map(wire.portToDomain);
  }
  async updatePort(id: string, body: PortUpdate, opts: { ifRevision?: number } = {}): Promise<Port> {
    const headers = opts.ifRevision !== undefined ? { 'if-match': `revision_number=${opts.ifRevision}` } : undefined;
    const res = await this.call<{ port: wire.PortWire }>('PUT', `/ports/${enc(id)}`, { body: { port: wire.portCreateToWire(body) }, headers });
    return wire.portToDomain(res.port);
  }
  async deletePort(id: string): Promise<void> {
    await this.call('DELETE', `/ports/${enc(id)}`);
  }

  // --- security groups --------------------------------------------------------------------

  async listSecurityGroups(filter?: ListFilter): Promise<SecurityGroup[]> {
    return (await this.list<wire.SecurityGroupWire>('security-groups', filter, 'security_groups')).map(wire.securityGroupToDomain);
  }
  async getSecurityGroup(id: string): Promise<SecurityGroup> {
    return wire.securityGroupToDomain(await this.show('security-groups', 'security_group', id));
  }
  async createSecurityGroup(body: SecurityGroupCreate): Promise<SecurityGroup> {
    return wire.securityGroupToDomain(await this.create('security-groups', 'security_group', wire.securityGroupCreateToWire(body)));
  }
  async deleteSecurityGroup(id: string): Promise<void> {
    await this.call('DELETE', `/security-groups/${enc(id)}`);
  }
  async listSecurityGroupRules(filter?: ListFilter): Promise<SecurityGroupRule[]> {
    const rules = await this.list<wire.SecurityGroupRuleWire>('security-group-rules', filter, 'security_group_rules');
    return rules.map(wire.securityGroupRuleToDomain);
  }
  async createSecurityGroupRule(body: SecurityGroupRuleCreate): Promise<SecurityGroupRule> {
    const rule = await this.create<wire.SecurityGroupRuleWire>('security-group-rules', 'security_group_rule', wire.securityGroupRuleCreateToWire(body));
    return wire.securityGroupRuleToDomain(rule);
  }
  async deleteSecurityGroupRule(id: string): Promise<void> {
    await this.call('DELETE', `/security-group-rules/${enc(id)}`);
  }

  // --- routers ----------------------------------------------------------------------------

  async listRouters(filter?: ListFilter): Promise<Router[]> {
    return (await this.list<wire.RouterWire>('routers', filter)).map(wire.routerToDomain);
  }
  async createRouter(body: RouterCreate): Promise<Router> {
    return wire.routerToDomain(await this.create('routers', 'router', wire.routerCreateToWire(body)));
  }
  async deleteRouter(id: string): Promise<void> {
    await this.call('DELETE', `/routers/${enc(id)}`);
  }
  async addRouterInterface(routerId: string, ref: { subnetId?: string; portId?: string }): Promise<{ portId: string; subnetId: string }> {
    const res = await this.call<{ port_id: string; subnet_id: string }>('PUT', `/routers/${enc(routerId)}/add_router_interface`, {
      body: interfaceRef(ref),
      idempotent: false,
    });
    return { portId: res.port_id, subnetId: res.subnet_id };
  }
  async removeRouterInterface(routerId: string, ref: { subnetId?: string; portId?: string }): Promise<void> {
    await this.call('PUT', `/routers/${enc(routerId)}/remove_router_interface`, { body: interfaceRef(ref), idempotent: false });
  }

  // --- trunks -----------------------------------------------------------------------------

  async listTrunks(filter?: ListFilter): Promise<Trunk[]> {
    return (await this.list<wire.TrunkWire>('trunks', filter)).map(wire.trunkToDomain);
  }
  async createTrunk(body: TrunkCreate): Promise<Trunk> {
    return wire.trunkToDomain(await this.create('trunks', 'trunk', wire.trunkCreateToWire(body)));
  }
  async deleteTrunk(id: string): Promise<void> {
    await this.call('DELETE', `/trunks/${enc(id)}`);
  }
  async addSubports(trunkId: string, subPorts: SubPort[]): Promise<Trunk> {
    const res = await this.call<wire.TrunkWire | { trunk: wire.TrunkWire }>('PUT', `/trunks/${enc(trunkId)}/add_subports`, {
      body: { sub_ports: subPorts.map(wire.subPortToWire) },
      idempotent: false,
    });
    return wire.trunkToDomain('trunk' in res ? res.trunk : res);
  }
  async removeSubports(trunkId: string, portIds: string[]): Promise<Trunk> {
    const res = await this.call<wire.TrunkWire | { trunk: wire.TrunkWire }>('PUT', `/trunks/${enc(trunkId)}/remove_subports`, {
      body: { sub_ports: portIds.map((id) => ({ port_id: id })) },
      idempotent: false,
    });
    return wire.trunkToDomain('trunk' in res ? res.trunk : res);
  }

  // --- tags -------------------------------------------------------------------------------

  async addTag(kind: AnyTaggableKind, id: string, tag: string): Promise<void> {
    await this.call('PUT', `/${kind}/${enc(id)}/tags/${enc(tag)}`);
  }
  async removeTag(kind: AnyTaggableKind, id: string, tag: string): Promise<void> {
    try {
      await this.call('DELETE', `/${kind}/${enc(id)}/tags/${enc(tag)}`);
    } catch (err) {
      // A missing tag is success; a missing resource (NetworkNotFound, PortNotFound...) is not.
      if (err instanceof NeutronError && err.status === 404 && (err.type === 'TagNotFound' || err.type === undefined)) return;
      throw err;
    }
  }
  async setTags(kind: AnyTaggableKind, id: string, tags: string[]): Promise<string[]> {
    const res = await this.call<{ tags?: string[] }>('PUT', `/${kind}/${enc(id)}/tags`, { body: { tags } });
    return res?.tags ?? tags;
  }
  async clearTags(kind: AnyTaggableKind, id: string): Promise<void> {
    await this.call('DELETE', `/${kind}/${enc(id)}/tags`);
  }

  // --- plumbing ---------------------------------------------------------------------------

  private async list<T>(collection: string, filter?: ListFilter, key = collection): Promise<T[]> {
    const out: T[] = [];
    let path = `/${collection}`;
    let query: URLSearchParams | undefined = wire.filterToQuery(filter);
    const seen = new Set<string>();
    for (;;) {
      const page = await this.call<Record<string, unknown>>('GET', path, { query });
      const items = (page[key] ?? []) as T[];
      out.push(...items);
      const next = nextLink(page[`${key}_links`]);
      if (!next || items.length === 0 || seen.has(next.toString())) return out;
      seen.add(next.toString());
      // Follow the link's path and query on our own endpoint: Neutron builds it from its public URL.
      path = next.pathname;
      query = next.searchParams;
      if (path.includes('/v2.0/')) path = path.slice(path.indexOf('/v2.0/') + '/v2.0'.length);
    }
  }

  private async show<T>(collection: string, key: string, id: string): Promise<T> {
    const res = await this.call<Record<string, T>>('GET', `/${collection}/${enc(id)}`);
    return res[key] as T;
  }

  private async create<T>(collection: string, key: string, body: Record<string, unknown>): Promise<T> {
    const res = await this.call<Record<string, T>>('POST', `/${collection}`, { body: { [key]: body } });
    return res[key] as T;
  }

  private async update<T>(collection: string, key: string, id: string, body: Record<string, unknown>): Promise<T> {
    const res = await this.call<Record<string, T>>('PUT', `/${collection}/${enc(id)}`, { body: { [key]: body } });
    return res[key] as T;
  }

  private endpointPromise: Promise<string> | undefined;

  /** `.../v2.0`, from the override or the catalog; resolved once. */
  private async baseUrl(): Promise<string> {
    this.endpointPromise ??= (async () => {
      const raw = this.endpointOverride ?? (await this.auth.getEndpoint('network', { interface: this.iface, region: this.region }));
      const trimmed = raw.replace(/\/+$/, '');
      return trimmed.endsWith('/v2.0') ? trimmed : `${trimmed}/v2.0`;
    })().catch((err: unknown) => {
      this.endpointPromise = undefined;
      throw err;
    });
    return this.endpointPromise;
  }

  /** One API call: token, one re-auth and retry on 401, `NeutronError` on any error status. */
  private async call<T>(method: HttpRequest['method'], path: string, opts: CallOptions = {}): Promise<T> {
    const base = await this.baseUrl();
    const qs = opts.query && [...opts.query.keys()].length > 0 ? `?${opts.query.toString()}` : '';
    const url = `${base}${path}${qs}`;
    const send = async (token: string) =>
      this.http.request({ method, url, headers: { ...opts.headers, 'x-auth-token': token }, body: opts.body, idempotent: opts.idempotent });
    let token = await this.auth.getToken();
    let res = await send(token);
    if (res.status === 401) {
      this.logger.debug({ method, path }, 'neutron answered 401; re-authenticating once');
      this.auth.invalidate(token);
      token = await this.auth.getToken();
      res = await send(token);
      if (res.status === 401) {
        throw new AuthError(`failed to ${method} /v2.0${path}: neutron rejected a freshly issued token${reqIdSuffix(requestIdOf(res.headers))}`, 401);
      }
    }
    if (res.status >= 400) throw toNeutronError(method, `/v2.0${path}`, res);
    return res.body as T;
  }
}

/** Builds the typed error from `{"NeutronError": {type, message, detail}}` (or whatever came back). */
export function toNeutronError(method: string, path: string, res: HttpResponse): NeutronError {
  const requestId = requestIdOf(res.headers);
  const fault = (res.body as wire.NeutronErrorWire | undefined)?.NeutronError;
  let type = fault?.type || undefined;
  let message = fault?.message;
  if (!message) {
    // Non-Neutron bodies: webob's `{"badRequest": {"message": ...}}`, proxies' HTML or plain text.
    const values = res.body && typeof res.body === 'object' ? Object.entries(res.body as Record<string, unknown>) : [];
    const first = values[0];
    const inner = first?.[1] as { message?: unknown } | undefined;
    if (values.length === 1 && first && typeof inner?.message === 'string') {
      message = inner.message;
      type ??= first[0];
    } else {
      message = res.text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
    }
  }
  const what = [String(res.status), type, message].filter(Boolean).join(' ');
  return new NeutronError(`failed to ${method} ${path}: ${what}${reqIdSuffix(requestId)}`, { status: res.status, type, requestId });
}

function nextLink(links: unknown): URL | undefined {
  if (!Array.isArray(links)) return undefined;
  const next = links.find((l: { rel?: string; href?: string }) => l?.rel === 'next' && typeof l.href === 'string') as { href: string } | undefined;
  if (!next) return undefined;
  try {
    return new URL(next.href);
  } catch {
    return undefined;
  }
}

function interfaceRef(ref: { subnetId?: string; portId?: string }): Record<string, string> {
  return ref.portId ? { port_id: ref.portId } : { subnet_id: ref.subnetId ?? '' };
}

function reqIdSuffix(reqId: string | undefined): string {
  return reqId ? ` (request ${reqId})` : '';
}

const enc = encodeURIComponent;
