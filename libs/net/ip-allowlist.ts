import * as ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** Turns an IPv4-mapped IPv6 address (::ffff:10.0.0.1) into the IPv4 address it carries. */
export function normaliseAddress(text: string): Address | undefined {
  const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(trimmed)) return undefined;
  const addr = ipaddr.parse(trimmed);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr;
}

export type EntryProblem = 'invalid' | 'allows_everything';

/**
 * Parses one allowlist entry: an address (a /32 or /128) or a CIDR. A /0 is refused: an allowlist
 * that allows everything is a mistake, not a policy. IPv4-mapped IPv6 ranges become IPv4 ranges.
 */
export function parseEntry(
  entry: string,
): { ok: true; range: Range } | { ok: false; problem: EntryProblem } {
  const text = entry.trim();
  let range: Range;
  try {
    if (text.includes('/')) {
      if (!ipaddr.isValidCIDR(text)) return { ok: false, problem: 'invalid' };
      range = ipaddr.parseCIDR(text);
    } else {
      const addr = normaliseAddress(text);
      if (!addr) return { ok: false, problem: 'invalid' };
      range = [addr, addr.kind() === 'ipv4' ? 32 : 128];
    }
  } catch {
    return { ok: false, problem: 'invalid' };
  }
  const [addr, bits] = range;
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    range = [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  if (range[1] === 0) return { ok: false, problem: 'allows_everything' };
  return { ok: true, range };
}

/** A compiled allowlist: parse once (when a key or the settings are loaded), match per request. */
export class IpAllowlist {
  /**
   * Answers by address text: a client sends many requests from one address, and parsing it is most
   * of what a check costs. The ranges never change, so an answer never goes stale; the map is
   * emptied when it reaches MEMO_SIZE addresses.
   */
  private readonly answers = new Map<string, boolean>();
  private static readonly MEMO_SIZE = 1024;

  private constructor(private readonly ranges: readonly Range[]) {}

  /** Entries were validated when saved; anything unparseable here is skipped, never widened. */
  static compile(entries: readonly string[]): IpAllowlist {
    const ranges: Range[] = [];
    for (const e of entries) {
      const parsed = parseEntry(e);
      if (parsed.ok) ranges.push(parsed.range);
    }
    return new IpAllowlist(ranges);
  }

  allows(address: string): boolean {
    let allowed = this.answers.get(address);
    if (allowed === undefined) {
      const addr = normaliseAddress(address);
      allowed =
        addr !== undefined &&
        this.ranges.some(([base, bits]) => base.kind() === addr.kind() && addr.match(base, bits));
      if (this.answers.size >= IpAllowlist.MEMO_SIZE) this.answers.clear();
      this.answers.set(address, allowed);
    }
    return allowed;
  }
}

/**
 * The client address of a request: the socket peer, unless that peer is a trusted proxy; then
 * X-Forwarded-For is walked from the right, skipping trusted proxies, and the first address that is
 * not one is the client. A forged X-Forwarded-For from an untrusted peer is ignored.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: IpAllowlist | undefined,
): string {
  const peer = socketAddress ?? '';
  const peerAddr = normaliseAddress(peer);
  if (!trustedProxies || !peerAddr || !trustedProxies.allows(peer))
    return peerAddr?.toString() ?? peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let client = peerAddr.toString();
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]);
    // A malformed hop ends the walk: what stands left of it cannot be trusted.
    if (!hop) break;
    client = hop.toString();
    if (!trustedProxies.allows(client)) break;
  }
  return client;
}
