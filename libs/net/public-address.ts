import * as ipaddr from 'ipaddr.js';
import { IpAllowlist } from './ip-allowlist';

/** IPv6 global unicast (RFC 4291 2.5.4): anything outside it is not on the public internet. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** Ranges no setting opens: nothing answers as an identity provider there. */
const NEVER = new Set(['unspecified', 'broadcast', 'multicast']);

/**
 * ipaddr.js's name for the range an address is in (`loopback`, `private`, `linkLocal`,
 * `carrierGradeNat`, `uniqueLocal`, ...), after an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`) is turned into the IPv4 address it carries. `unicast` is the public internet;
 * IPv6 outside 2000::/3 (IPv4-compatible `::7f00:1`, for one) is `nonGlobal`. Undefined when the
 * text is not an IP address: host names are resolved by DNS, never parsed here.
 */
export function addressRange(text: string): string | undefined {
  const bare = text.trim().replace(/^\[(.*)\]$/, '$1');
  // isValid alone accepts IPv4 shorthands ("127.1", "0x7f.1"): only the four-part dotted form and
  // IPv6 count as literals; anything else is a name for DNS.
  if (!ipaddr.IPv6.isValid(bare) && !ipaddr.IPv4.isValidFourPartDecimal(bare)) return undefined;
  const addr = ipaddr.process(bare);
  const range = addr.range();
  if (range === 'unicast' && addr.kind() === 'ipv6' && !addr.match(GLOBAL_UNICAST_V6))
    return 'nonGlobal';
  return range;
}

export type AddressVerdict = { ok: true } | { ok: false; range: string };

/**
 * Which addresses an outbound connection may go to: public unicast always; other ranges only when
 * the operator opened them (all private ranges, or listed CIDRs). Unspecified, broadcast and
 * multicast never.
 */
export class AddressPolicy {
  private constructor(
    private readonly allowPrivate: boolean,
    private readonly opened: IpAllowlist,
  ) {}

  static compile(options: { allowPrivate: boolean; allowedCidrs: readonly string[] }) {
    return new AddressPolicy(options.allowPrivate, IpAllowlist.compile(options.allowedCidrs));
  }

  /** Whether anything besides public unicast may be reached (a check can then skip DNS at save time). */
  get opensPrivate(): boolean {
    return this.allowPrivate;
  }

  check(address: string): AddressVerdict {
    const range = addressRange(address);
    if (range === undefined) return { ok: false, range: 'notAnAddress' };
    if (range === 'unicast') return { ok: true };
    if (NEVER.has(range)) return { ok: false, range };
    if (this.allowPrivate || this.opened.allows(address)) return { ok: true };
    return { ok: false, range };
  }
}
