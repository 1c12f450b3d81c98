import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { ConfigError, parseList, type RawSetting } from '../../config/index.js';

/**
 * The proxies whose forwarding header is believed: addresses and CIDR ranges, IPv4 and IPv6. Empty by
 * default, which means the socket address is the client address whatever the request's headers say.
 */
export interface TrustedProxies {
  /** The entries as configured, for logs and the start banner. */
  readonly entries: readonly string[];
  /** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) is one of the trusted proxies. */
  includes(address: string): boolean;
}

/** No trusted proxy: forwarding headers are never believed. */
export const NO_TRUSTED_PROXIES: TrustedProxies = { entries: [], includes: () => false };

/** `::ffff:10.0.0.1` → `10.0.0.1`; other addresses unchanged. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * Parses a comma-separated list of addresses and CIDR ranges (`10.0.0.0/8, 192.168.1.7, fd00::/8`).
 * Throws {@link ConfigError} naming the variable for an entry that is neither.
 */
export function parseTrustedProxies(setting: RawSetting): TrustedProxies {
  const entries = parseList(setting);
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new ConfigError(setting.name, `must list IP addresses or CIDR ranges (got ${JSON.stringify(entry)})`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) throw new ConfigError(setting.name, `bad prefix length in ${JSON.stringify(entry)}`);
    list.addSubnet(address, bits, type);
  }
  return {
    entries,
    includes(candidate) {
      const family = isIP(candidate);
      return family !== 0 && list.check(candidate, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** How the client address of a request is found. */
export interface ClientAddressRule {
  /** Header a trusted proxy writes the client address into (lower case); `null` means `x-forwarded-for`. */
  readonly rateLimitHeader: string | null;
  readonly trustedProxies: TrustedProxies;
}

/**
 * The client address of a request, used for limits and kept on sessions. It is the socket address,
 * unless that is a trusted proxy: then the forwarding header is read from the right (the entry the
 * nearest proxy appended) leftwards, skipping trusted proxies, and the first other address is the
 * client. Entries further left were written by the client itself and are never believed. A malformed
 * entry stops the walk at the last trusted hop.
 */
export function clientAddress(request: FastifyRequest, rule: ClientAddressRule): string {
  return clientAddressOf(request.socket.remoteAddress ?? request.ip, request.headers, rule);
}

/** {@link clientAddress} for a connection known by its peer address and request headers (a WebSocket's upgrade request). */
export function clientAddressOf(peerAddress: string, headers: Readonly<Record<string, string | string[] | undefined>>, rule: ClientAddressRule): string {
  const peer = normaliseAddress(peerAddress);
  if (!rule.trustedProxies.includes(peer)) return peer;
  const raw = headers[rule.rateLimitHeader ?? 'x-forwarded-for'];
  const hops = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((hop) => normaliseAddress(hop.trim()));
  let client = peer;
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = hops[index]!;
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!rule.trustedProxies.includes(hop)) return hop;
  }
  return client;
}

/** The client address and user agent of a request, as sessions keep them. */
export function clientFacts(request: FastifyRequest, rule: ClientAddressRule): { ip: string; userAgent: string | undefined } {
  const agent = request.headers['user-agent'];
  return { ip: clientAddress(request, rule), userAgent: typeof agent === 'string' ? agent : undefined };
}
