/**
 * CIDR and IP arithmetic with Python `ipaddress` semantics (strict networks, IPv6 compressed
 * lower-case), which is how kuryr-libnetwork renders pool and subnet CIDRs.
 */
import ipaddr from 'ipaddr.js';
import { InvalidInputError } from './errors.js';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  value: bigint;
}

export interface ParsedCidr {
  family: IpFamily;
  /** The address part as given (host bits possibly set). */
  address: bigint;
  prefixLength: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** Parses a plain IPv4 (dotted quad) or IPv6 address; throws `InvalidInputError` naming it. */
export function parseIp(ip: string, field?: string): ParsedIp {
  const text = ip.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, value: bytesToBigInt(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) {
    return { family: 6, value: bytesToBigInt(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  throw new InvalidInputError(`'${ip}' is not a valid IP address`, field);
}

export function isIp(ip: string): boolean {
  try {
    parseIp(ip);
    return true;
  } catch {
    return false;
  }
}

/** Renders an address like Python's `ipaddress` (`str()`): dotted quad, or RFC 5952 compressed IPv6. */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** Canonical text of an IP (`10.0.0.1`, `fe80::1`); throws on garbage. */
export function normalizeIp(ip: string, field?: string): string {
  const p = parseIp(ip, field);
  return formatIp(p.family, p.value);
}

/** True when both strings denote the same address (`fe80::1` = `FE80:0::1`). */
export function sameIp(a: string, b: string): boolean {
  try {
    const pa = parseIp(a);
    const pb = parseIp(b);
    return pa.family === pb.family && pa.value === pb.value;
  } catch {
    return a === b;
  }
}

export function parseCidr(cidr: string, field?: string): ParsedCidr {
  const slash = cidr.indexOf('/');
  const ipText = slash < 0 ? cidr : cidr.slice(0, slash);
  const ip = parseIp(ipText, field);
  const max = BITS[ip.family];
  let prefixLength = max;
  if (slash >= 0) {
    const lenText = cidr.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      throw new InvalidInputError(`'${cidr}' has an invalid prefix length (IPv${ip.family} allows 0-${max})`, field);
    }
    prefixLength = Number(lenText);
  }
  return { family: ip.family, address: ip.value, prefixLength };
}

function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(BITS[family] - prefixLength)) - 1n;
}

/** Strict like `ipaddress.ip_network(cidr)`: host bits set → `InvalidInputError` naming the CIDR. */
export function normalizeCidr(cidr: string, field?: string): string {
  const p = parseCidr(cidr, field);
  if ((p.address & hostMask(p.family, p.prefixLength)) !== 0n) {
    throw new InvalidInputError(`'${cidr}' has host bits set`, field);
  }
  return `${formatIp(p.family, p.address)}/${p.prefixLength}`;
}

/** The network containing an interface address: `10.0.0.5/24` → `10.0.0.0/24` (non-strict). */
export function networkOf(cidr: string, field?: string): string {
  const p = parseCidr(cidr, field);
  const net = p.address & ~hostMask(p.family, p.prefixLength);
  return `${formatIp(p.family, net)}/${p.prefixLength}`;
}

export function prefixLength(cidr: string): number {
  return parseCidr(cidr).prefixLength;
}

export function cidrFamily(cidr: string): IpFamily {
  return parseCidr(cidr).family;
}

/** Splits `ip/len` (or a plain IP) into the IP and its prefix length (`undefined` when absent). */
export function splitAddress(text: string): { ip: string; prefixLength: number | undefined } {
  const slash = text.indexOf('/');
  if (slash < 0) return { ip: text, prefixLength: undefined };
  return { ip: text.slice(0, slash), prefixLength: Number(text.slice(slash + 1)) };
}

function bounds(cidr: string): { family: IpFamily; first: bigint; last: bigint; prefixLength: number } {
  const p = parseCidr(cidr);
  const mask = hostMask(p.family, p.prefixLength);
  const first = p.address & ~mask;
  return { family: p.family, first, last: first | mask, prefixLength: p.prefixLength };
}

/** First usable host like Python's `next(network.hosts())`; the address itself for /31-/32 and /127-/128. */
export function firstUsableHost(cidr: string): string {
  const b = bounds(cidr);
  const first = b.last - b.first >= 2n ? b.first + 1n : b.first;
  return formatIp(b.family, first);
}

/** Number of addresses in the CIDR. */
export function cidrSize(cidr: string): bigint {
  const b = bounds(cidr);
  return b.last - b.first + 1n;
}

/** True when `inner` (an IP or a CIDR) lies entirely inside `outer`. Different families → false. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = bounds(outer);
  const i = inner.includes('/') ? bounds(inner) : (() => {
    const p = parseIp(inner);
    return { family: p.family, first: p.value, last: p.value, prefixLength: BITS[p.family] };
  })();
  return o.family === i.family && i.first >= o.first && i.last <= o.last;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = bounds(a);
  const y = bounds(b);
  return x.family === y.family && x.first <= y.last && y.first <= x.last;
}

/** The `index`-th block of length `len` inside `cidr` (`index` 0 = the first), or `undefined` past the end. */
export function subnetBlock(cidr: string, len: number, index: bigint): string | undefined {
  const b = bounds(cidr);
  if (len < b.prefixLength || len > BITS[b.family]) return undefined;
  const size = 1n << BigInt(BITS[b.family] - len);
  const start = b.first + size * index;
  if (start + size - 1n > b.last) return undefined;
  return `${formatIp(b.family, start)}/${len}`;
}

/** Integer value of an IP (for allocation loops). */
export function ipToBigInt(ip: string): bigint {
  return parseIp(ip).value;
}

export function bigIntToIp(family: IpFamily, value: bigint): string {
  return formatIp(family, value);
}

/** First and last address of a CIDR as integers. */
export function cidrRange(cidr: string): { family: IpFamily; first: bigint; last: bigint } {
  const b = bounds(cidr);
  return { family: b.family, first: b.first, last: b.last };
}

function bytesToBigInt(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
