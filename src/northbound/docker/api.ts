/**
 * Docker libnetwork remote-driver wire types, copied from moby
 * `libnetwork/drivers/remote/api/api.go` and `libnetwork/ipams/remote/api/api.go`
 * (PascalCase exactly as on the wire), plus one zod schema per request.
 * Validation follows the Python driver's JSON schemas with their bugs fixed (see docs/docker-api.md).
 */
import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidInputError } from '../../common/errors.js';
import { EMPTY_BODY } from '../http/method-server.js';

// ---------------------------------------------------------------- field rules

/** Longest string accepted in any field or option value. */
export const MAX_STRING_LENGTH = 4096;
/** Longest option name accepted. */
export const MAX_OPTION_NAME_LENGTH = 256;

/** `-o` / `--ipam-opt` names Kuryr understands; any other `neutron.*` name is a typo and rejected. */
export const KNOWN_NEUTRON_OPTIONS: ReadonlySet<string> = new Set([
  'neutron.net.uuid',
  'neutron.net.name',
  'neutron.net.shared',
  'neutron.subnet.uuid',
  'neutron.subnet.name',
  'neutron.subnet.v6.uuid',
  'neutron.subnet.v6.name',
  'neutron.pool.uuid',
  'neutron.pool.name',
  'neutron.pool.v6.uuid',
  'neutron.pool.v6.name',
]);

const DOCKER_ID_RE = /^(?:[0-9a-f]{64}|[0-9a-z]{25})$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const ANY_CASE_UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type Family = 4 | 6 | 'any';

/** True when `s` is `ip/len` with a prefix length valid for the address family (`family` restricts it). */
export function isCidr(s: string, family: Family = 'any'): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const fam = isIP(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (fam === 0 || (family !== 'any' && fam !== family) || !/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (fam === 4 ? 32 : 128);
}

const familyName = (f: Family): string => (f === 'any' ? 'IPv4 or IPv6' : `IPv${f}`);
const str = () => z.string().max(MAX_STRING_LENGTH, { error: `must be at most ${MAX_STRING_LENGTH} characters` });
const dockerId = () =>
  z.string().regex(DOCKER_ID_RE, { error: 'must be 64 lowercase hex characters or a 25-character swarm ID' });
const poolId = () => z.string().regex(UUID_RE, { error: 'must be a lowercase UUID' });
const cidr = (f: Family, allowEmpty: boolean) =>
  str().refine((s) => (allowEmpty && s === '') || isCidr(s, f), {
    error: `must be an ${familyName(f)} CIDR (address/prefix length)`,
  });
const ipAddress = (allowEmpty: boolean) =>
  str().refine((s) => (allowEmpty && s === '') || isIP(s) !== 0, { error: 'must be an IPv4 or IPv6 address' });
/** Docker sends AuxAddresses as CIDRs (driverapi.IPAMData marshals *net.IPNet); plain IPs are accepted too. */
const auxAddress = (f: 4 | 6) =>
  str().refine((s) => isIP(s) === f || isCidr(s, f), { error: `must be an IPv${f} address` });
const mac = () => z.string().refine((s) => s === '' || MAC_RE.test(s), { error: 'must be a MAC address xx:xx:xx:xx:xx:xx' });
/** An open `Options` map; null and absent both mean empty. */
const openOptions = () => z.record(z.string().max(MAX_OPTION_NAME_LENGTH), z.unknown()).nullish();

function optionString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A string-valued option map (`-o`, `--ipam-opt`): values become strings, unknown `neutron.*` names are rejected. */
const neutronOptions = (checkNames: boolean) =>
  z
    .record(z.string().max(MAX_OPTION_NAME_LENGTH, { error: 'option name too long' }), z.unknown())
    .nullish()
    .transform((m, ctx) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(m ?? {})) {
        if (checkNames && k.startsWith('neutron.') && !KNOWN_NEUTRON_OPTIONS.has(k))
          ctx.addIssue({ code: 'custom', path: [k], message: `unknown option ${k}` });
        out[k] = optionString(v);
        if (out[k].length > MAX_STRING_LENGTH)
          ctx.addIssue({ code: 'custom', path: [k], message: `must be at most ${MAX_STRING_LENGTH} characters` });
        // a Neutron ID goes into a URL path: anything but a UUID made Neutron answer 500 (or the URL encoder throw)
        else if (checkNames && k.startsWith('neutron.') && k.endsWith('.uuid') && out[k] !== '' && !ANY_CASE_UUID_RE.test(out[k]))
          ctx.addIssue({ code: 'custom', path: [k], message: `${k} must be a Neutron UUID` });
        else if (LONE_SURROGATE_RE.test(out[k]))
          ctx.addIssue({ code: 'custom', path: [k], message: 'must be valid unicode (a lone surrogate cannot be sent to Neutron)' });
      }
      return out;
    });

/** driverapi.IPAMData: one address pool of a network (Gateway optional for both families; the Python schema required it for IPv6). */
const ipamData = (f: 4 | 6) =>
  z.object({
    AddressSpace: str(),
    Pool: cidr(f, false),
    Gateway: cidr(f, true).nullish(),
    AuxAddresses: z.record(z.string().max(MAX_OPTION_NAME_LENGTH), auxAddress(f)).nullish(),
  });

// ---------------------------------------------------------------- NetworkDriver requests

/** CreateNetworkRequest requests a new network. */
export const CreateNetworkRequestSchema = z.object({
  NetworkID: dockerId(),
  Options: z
    .looseObject({
      'com.docker.network.generic': neutronOptions(true),
      'com.docker.network.enable_ipv6': z.union([z.boolean(), z.enum(['true', 'false'])]).nullish(),
    })
    .nullish(),
  IPv4Data: z.array(ipamData(4)).nullish(),
  IPv6Data: z.array(ipamData(6)).nullish(),
});
export type CreateNetworkRequest = z.infer<typeof CreateNetworkRequestSchema>;

/** DeleteNetworkRequest is the request to delete an existing network. */
export const DeleteNetworkRequestSchema = z.object({ NetworkID: dockerId() });
export type DeleteNetworkRequest = z.infer<typeof DeleteNetworkRequestSchema>;

/** AllocateNetworkRequest requests allocation of a new network by the swarm manager. */
export const AllocateNetworkRequestSchema = z.object({
  NetworkID: dockerId(),
  Options: z.record(z.string(), z.unknown()).nullish(),
  IPv4Data: z.array(z.unknown()).nullish(),
  IPv6Data: z.array(z.unknown()).nullish(),
});
export type AllocateNetworkRequest = z.infer<typeof AllocateNetworkRequestSchema>;

/** FreeNetworkRequest is the request to free an allocated network in the swarm manager. */
export const FreeNetworkRequestSchema = z.object({ NetworkID: dockerId() });
export type FreeNetworkRequest = z.infer<typeof FreeNetworkRequestSchema>;

/** EndpointInterface represents an interface endpoint (all fields may be empty). */
export const EndpointInterfaceSchema = z.object({
  Address: cidr(4, true).nullish(),
  AddressIPv6: cidr(6, true).nullish(),
  MacAddress: mac().nullish(),
});
export type EndpointInterface = z.infer<typeof EndpointInterfaceSchema>;

/** CreateEndpointRequest is the request to create an endpoint within a network. */
export const CreateEndpointRequestSchema = z.object({
  NetworkID: dockerId(),
  EndpointID: dockerId(),
  Interface: EndpointInterfaceSchema.nullish(),
  Options: openOptions(),
});
export type CreateEndpointRequest = z.infer<typeof CreateEndpointRequestSchema>;

/** EndpointInfoRequest retrieves information about the endpoint from the network driver. */
export const EndpointInfoRequestSchema = z.object({ NetworkID: dockerId(), EndpointID: dockerId() });
export type EndpointInfoRequest = z.infer<typeof EndpointInfoRequestSchema>;

/** DeleteEndpointRequest describes the API for deleting an endpoint. */
export const DeleteEndpointRequestSchema = EndpointInfoRequestSchema;
export type DeleteEndpointRequest = EndpointInfoRequest;

/** JoinRequest describes the API for joining an endpoint to a sandbox (any exec-root: SandboxKey is any absolute path). */
export const JoinRequestSchema = z.object({
  NetworkID: dockerId(),
  EndpointID: dockerId(),
  SandboxKey: str().refine((s) => isAbsolute(s) && !s.includes('\0'), { error: 'must be an absolute path' }),
  Options: openOptions(),
});
export type JoinRequest = z.infer<typeof JoinRequestSchema>;

/** LeaveRequest describes the API for detaching an endpoint from a sandbox. */
export const LeaveRequestSchema = EndpointInfoRequestSchema;
export type LeaveRequest = EndpointInfoRequest;

/** types.TransportPort as sent in `com.docker.network.endpoint.exposedports`. */
export const TransportPortSchema = z.object({
  Proto: z.number().int().min(0).max(255),
  Port: z.number().int().min(0).max(65535),
});

/** ProgramExternalConnectivityRequest describes the API for programming the external connectivity for the given endpoint. */
export const ProgramExternalConnectivityRequestSchema = z.object({
  NetworkID: dockerId(),
  EndpointID: dockerId(),
  Options: z
    .looseObject({ 'com.docker.network.endpoint.exposedports': z.array(TransportPortSchema).nullish() })
    .nullish(),
});
export type ProgramExternalConnectivityRequest = z.infer<typeof ProgramExternalConnectivityRequestSchema>;

/** RevokeExternalConnectivityRequest describes the API for revoking the external connectivity for the given endpoint. */
export const RevokeExternalConnectivityRequestSchema = EndpointInfoRequestSchema;
export type RevokeExternalConnectivityRequest = EndpointInfoRequest;

/** DiscoveryNotification represents a discovery notification (DiscoverNew / DiscoverDelete). */
export const DiscoveryNotificationSchema = z.object({
  DiscoveryType: z.number().int().nullish(),
  DiscoveryData: z.unknown(),
});
export type DiscoveryNotification = z.infer<typeof DiscoveryNotificationSchema>;

// ---------------------------------------------------------------- IpamDriver requests

/** RequestPoolRequest represents the expected data in a "request address pool" request message. */
export const RequestPoolRequestSchema = z
  .object({
    AddressSpace: str(),
    Pool: cidr('any', true),
    SubPool: cidr('any', true),
    Options: neutronOptions(true),
    V6: z.boolean(),
  })
  .superRefine((r, ctx) => {
    for (const field of ['Pool', 'SubPool'] as const) {
      if (r[field] !== '' && isIP(r[field].split('/')[0]!) !== (r.V6 ? 6 : 4))
        ctx.addIssue({ code: 'custom', path: [field], message: `must be an IPv${r.V6 ? 6 : 4} CIDR when V6 is ${r.V6}` });
    }
  });
export type RequestPoolRequest = z.infer<typeof RequestPoolRequestSchema>;

/** ReleasePoolRequest represents the expected data in a "release address pool" request message. */
export const ReleasePoolRequestSchema = z.object({ PoolID: poolId() });
export type ReleasePoolRequest = z.infer<typeof ReleasePoolRequestSchema>;

/** RequestAddressRequest represents the expected data in a "request address" request message. */
export const RequestAddressRequestSchema = z.object({
  PoolID: poolId(),
  Address: ipAddress(true),
  Options: neutronOptions(false),
});
export type RequestAddressRequest = z.infer<typeof RequestAddressRequestSchema>;

/** ReleaseAddressRequest represents the expected data in a "release address" request message (plain IP, no prefix). */
export const ReleaseAddressRequestSchema = z.object({ PoolID: poolId(), Address: ipAddress(true) });
export type ReleaseAddressRequest = z.infer<typeof ReleaseAddressRequestSchema>;

// ---------------------------------------------------------------- responses

/** Response is the error envelope of every non-200 answer. */
export interface ErrorResponse {
  Err: string;
}
/** The answer to Plugin.Activate. */
export interface ActivateResponse {
  Implements: string[];
}
/** GetCapabilityResponse is the response of the NetworkDriver GetCapability request. */
export interface GetCapabilityResponse {
  Scope: string;
  ConnectivityScope?: string;
}
/** AllocateNetworkResponse is the response to the AllocateNetworkRequest. */
export interface AllocateNetworkResponse {
  Options: Record<string, unknown> | null;
}
/** CreateEndpointResponse is the response to the CreateEndpoint action (only fields Docker did not send). */
export interface CreateEndpointResponse {
  Interface: { Address?: string; AddressIPv6?: string; MacAddress?: string };
}
/** EndpointInfoResponse is the response to an EndpointInfoRequest. */
export interface EndpointInfoResponse {
  Value: Record<string, unknown>;
}
/** InterfaceName is the pair of device names used to move the endpoint into the container. */
export interface InterfaceName {
  SrcName: string;
  DstPrefix: string;
}
/** StaticRoute is the plain JSON representation of a static route. */
export interface StaticRoute {
  Destination: string;
  RouteType: number;
  NextHop: string;
}
/** JoinResponse is the response to a JoinRequest (Gateway keys absent when the port has no address of that family). */
export interface JoinResponse {
  InterfaceName: InterfaceName;
  Gateway?: string | null;
  GatewayIPv6?: string | null;
  StaticRoutes: StaticRoute[];
  DisableGatewayService: boolean;
}
/** IPAM GetCapabilityResponse. */
export interface IpamCapabilityResponse {
  RequiresMACAddress: boolean;
  RequiresRequestReplay: boolean;
}
/** GetAddressSpacesResponse is the response to the "get default address spaces" request message. */
export interface GetAddressSpacesResponse {
  LocalDefaultAddressSpace: string;
  GlobalDefaultAddressSpace: string;
}
/** RequestPoolResponse represents the response message to a "request address pool" request. */
export interface RequestPoolResponse {
  PoolID: string;
  Pool: string;
  Data: Record<string, string>;
}
/** RequestAddressResponse represents the response message to a "request address" request (CIDR form). */
export interface RequestAddressResponse {
  Address: string;
  Data: Record<string, string>;
}
/** The `{}` answer of every verb that returns nothing. */
export type EmptyResponse = Record<string, never>;

// ---------------------------------------------------------------- decoding

/** Renders a zod path as `IPv4Data[0].Pool` or `Options["com.docker.network.generic"]["neutron.x"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p))) out += out ? `.${String(p)}` : String(p);
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** Validates a wire body against `schema`; throws InvalidInputError naming the first bad fields. */
/**
 * dockerd's plugin client (moby pkg/plugins, `callWithRetry`) retries a call whose connection broke
 * (for example Kuryr was killed mid-call) for up to 30 s, re-sending the request body it already
 * drained: the retry arrives empty. Nothing can be done for it; the answer says so, so that Docker
 * fails the operation and rolls back its side, and nothing is changed here.
 */
export function emptyRetryMessage(method: string): string {
  return (
    `empty ${method} request: dockerd re-sends a plugin call with an empty body after the connection broke during the first attempt ` +
    `(its plugin client cannot replay the body); nothing was done. Docker rolls this operation back; ` +
    `'kuryr gc' removes what an interrupted first attempt may have left`
  );
}

export function decode<S extends z.ZodType>(schema: S, body: unknown, method: string): z.output<S> {
  const prefix = `invalid ${method} request`;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidInputError(`${prefix}: body must be a JSON object`);
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  if (body === EMPTY_BODY) throw new InvalidInputError(emptyRetryMessage(method));
  const seen = new Set<string>();
  const firstPerField = r.error.issues.filter((i) => !seen.has(formatPath(i.path)) && !!seen.add(formatPath(i.path)));
  const issues = firstPerField.slice(0, 3).map((i) => {
    const msg = i.code === 'invalid_type' && i.message.endsWith('received undefined') ? 'is required' : i.message;
    return i.path.length ? `${formatPath(i.path)}: ${msg}` : msg;
  });
  const first = r.error.issues[0];
  throw new InvalidInputError(`${prefix}: ${issues.join('; ')}`, first ? formatPath(first.path) : undefined);
}

/** `kuryr pool fill`: a Neutron network ID and how many ports to make now. */
export const PoolFillRequestSchema = z.object({ NetworkID: z.string().uuid(), Count: z.number().int().min(1).max(500) });
/** `kuryr pool drain`: a Neutron network ID. */
export const PoolDrainRequestSchema = z.object({ NetworkID: z.string().uuid() });
