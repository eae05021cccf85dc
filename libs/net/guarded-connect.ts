import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './public-address';

/** A resolved address, as node:dns `lookup(host, { all: true })` gives it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** An outbound connection refused because of where it would go (never retried, never followed). */
export class AddressNotAllowedError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(
      host === address
        ? `address ${address} is not allowed (${range})`
        : `${host} resolves to ${address}, which is not allowed (${range})`,
    );
    this.name = 'AddressNotAllowedError';
  }
}

/** The AddressNotAllowedError in an error or its `cause` chain (libraries wrap what fetch threw). */
export function addressRefusalIn(err: unknown): AddressNotAllowedError | undefined {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof AddressNotAllowedError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** RFC 2606/6761 names that never resolve on the internet: not sent to DNS at all. */
export function isReservedName(host: string): boolean {
  return /(^|\.)(example|invalid)\.?$/i.test(host);
}

/**
 * Every address `host` resolves to, refused as a whole when ANY of them is not allowed (a name with
 * one public and one private address would otherwise be a coin toss, or a rebinding). An IP literal is
 * checked as it is; a name goes through `resolve` (node:dns lookup with all: true).
 */
export async function resolveAllowed(
  host: string,
  policy: AddressPolicy,
  resolve: Resolver,
): Promise<ResolvedAddress[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  if (isIP(bare)) addresses = [{ address: bare, family: isIP(bare) }];
  else if (isReservedName(bare))
    throw Object.assign(new Error(`${bare} does not resolve`), { code: 'ENOTFOUND' });
  else addresses = await resolve(bare);
  if (addresses.length === 0)
    throw Object.assign(new Error(`${bare} does not resolve`), { code: 'ENOTFOUND' });
  for (const { address } of addresses) {
    const verdict = policy.check(address);
    if (!verdict.ok) throw new AddressNotAllowedError(bare, address, verdict.range);
  }
  return addresses;
}

/** A `lookup` for net/tls/http that answers with the one address already checked (pinning). */
export function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

/** What openid-client hands its custom fetch (its CustomFetchOptions, minus the library's types). */
export interface FetchOptions {
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * A fetch for one request at a time that resolves the host, refuses it unless every address is
 * allowed, and connects to the checked address (so a DNS answer that changes between the check and
 * the connection cannot move it). TLS still verifies the certificate against the host name. Redirects
 * are not followed (openid-client asks for `redirect: 'manual'`); a response over 1 MiB is refused.
 */
export function guardedFetch(
  policy: () => AddressPolicy,
  resolve: Resolver,
): (url: string, options: FetchOptions) => Promise<Response> {
  return async (url, options) => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:')
      throw new Error(`${target.protocol} URLs are not fetched`);
    const [pinned] = await resolveAllowed(target.hostname, policy(), resolve);
    const body = requestBody(options.body);
    const transport = target.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolvePromise, reject) => {
      const req = transport.request(
        target,
        {
          method: options.method,
          headers: {
            ...options.headers,
            ...(body ? { 'content-length': String(body.length) } : {}),
          },
          lookup: pinnedLookup(pinned),
          signal: options.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy(new Error('response too large'));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined) continue;
              for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
            }
            const status = res.statusCode ?? 502;
            const nullBody = status === 204 || status === 304 || options.method === 'HEAD';
            resolvePromise(
              new Response(nullBody ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage,
                headers,
              }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

function requestBody(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new Error('unsupported request body');
}
