/**
 * Where a webhook may be sent (docs/events.md, "Safety"): an `https://` URL (`http://` only when
 * allowed) whose host, once resolved, has only public addresses (unless private ones are allowed).
 * The request then connects to the address that was checked, never to the result of a second
 * lookup, so a name cannot resolve to a public address for the check and a private one for the
 * connection.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface UrlRules {
  /** `http://` URLs too. */
  allowHttp: boolean;
  /** Loopback, private, link-local and other non-public addresses too. */
  allowPrivate: boolean;
}

export interface Address {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (the system resolver by default). */
export type Resolver = (host: string) => Promise<Address[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

const MAX_URL_LENGTH = 2048;

/** Blocks that are not public, IPv4: [first address, prefix length, what it is]. */
const V4_BLOCKS: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** IPv6 blocks that are not public (outside 2000::/3 nothing is; see `ipv6Reason`). */
const V6_BLOCKS: [string, number, string][] = [
  ['64:ff9b:1::', 48, 'private (local NAT64)'],
  ['100::', 64, 'reserved (discard)'],
  ['2001::', 23, 'reserved (IETF protocol)'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'private (unique local)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

function ipv4Bytes(text: string): number[] | undefined {
  if (isIP(text) !== 4) return undefined;
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (a zone, `%eth0`, ignored). */
function ipv6Bytes(text: string): number[] | undefined {
  let s = text.replace(/%.*$/, '');
  if (isIP(s) !== 6) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = ipv4Bytes(dotted[1]!)!;
    s = `${s.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function inBlock(bytes: readonly number[], base: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const mask = bits - i >= 8 ? 0xff : (0xff << (8 - (bits - i))) & 0xff;
    if ((bytes[i / 8]! & mask) !== (base[i / 8]! & mask)) return false;
  }
  return true;
}

const V4 = V4_BLOCKS.map(([base, bits, reason]) => ({ base: ipv4Bytes(base)!, bits, reason }));
const V6 = V6_BLOCKS.map(([base, bits, reason]) => ({ base: ipv6Bytes(base)!, bits, reason }));

function ipv4Reason(bytes: readonly number[]): string | undefined {
  return V4.find((b) => inBlock(bytes, b.base, b.bits))?.reason;
}

function ipv6Reason(bytes: readonly number[]): string | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && bytes[15] === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 address it names.
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) {
    const reason = ipv4Reason(bytes.slice(12));
    return reason && `IPv4-mapped ${reason}`;
  }
  if (zeros(0, 12)) return 'reserved (IPv4-compatible)';
  // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::): the IPv4 address they lead to.
  if (inBlock(bytes, [0, 0x64, 0xff, 0x9b, ...Array<number>(12).fill(0)], 96)) {
    const reason = ipv4Reason(bytes.slice(12));
    return reason && `NAT64 ${reason}`;
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) {
    const reason = ipv4Reason(bytes.slice(2, 6));
    return reason && `6to4 ${reason}`;
  }
  const special = V6.find((b) => inBlock(bytes, b.base, b.bits))?.reason;
  if (special) return special;
  // Global unicast is 2000::/3; nothing else is routed on the internet.
  return (bytes[0]! & 0xe0) === 0x20 ? undefined : 'reserved';
}

/**
 * What kind of non-public address `address` (IPv4 or IPv6, without brackets) is, such as
 * `loopback` or `IPv4-mapped private`; undefined when it is public, or not an address at all.
 */
export function nonPublicReason(address: string): string | undefined {
  const v4 = ipv4Bytes(address);
  if (v4) return ipv4Reason(v4);
  const v6 = ipv6Bytes(address);
  return v6 ? ipv6Reason(v6) : undefined;
}

/** The host of a URL as an address or name: IPv6 literals without their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** What is wrong with `text` as a webhook URL before any lookup; undefined when nothing is. */
export function urlProblem(text: string, rules: UrlRules): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters long`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'url must be an absolute https:// URL';
  }
  if (url.protocol === 'http:' && !rules.allowHttp) return 'url must be an https:// URL (http:// is not allowed on this server)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'url must be an https:// URL';
  if (url.username !== '' || url.password !== '') return 'url must not hold a user name or password';
  if (hostOf(url) === '') return 'url must name a host';
  return undefined;
}

/**
 * The address to connect to for `url`: its host's first address, after checking every address it
 * resolves to (or the host itself, an address); otherwise why the URL is refused.
 */
export async function resolveTarget(url: URL, rules: UrlRules, resolve: Resolver): Promise<{ target: Address } | { problem: string }> {
  const host = hostOf(url);
  let addresses: Address[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      return { problem: `the host ${host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    if (addresses.length === 0) return { problem: `the host ${host} has no address` };
  }
  if (!rules.allowPrivate) {
    for (const { address } of addresses) {
      const reason = nonPublicReason(address);
      if (reason) {
        const what = `${address}, ${/^[aeiouIU]/.test(reason) ? 'an' : 'a'} ${reason} address`;
        return { problem: isIP(host) !== 0 ? `url names ${what}` : `url's host ${host} resolves to ${what}` };
      }
    }
  }
  return { target: addresses[0]! };
}
