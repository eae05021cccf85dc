import { dirname } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
// The module object itself (not an interop copy): its createClient is replaced below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import ldapjs = require('ldapjs');

/**
 * What one login attempt learns from the ldapjs clients that ldapauth-fork creates for it, and the
 * clients themselves (so a timed-out or failed attempt can close them).
 */
export interface LdapAttempt {
  /** Upgrade every connection with StartTLS before anything else is sent. */
  startTls: boolean;
  /** Every bind sent, in order: the DN and whether the server accepted it. Never the password. */
  binds: Array<{ dn: string; ok: boolean | null }>;
  clients: ldapjs.Client[];
}

/** The key under which an attempt rides on the tlsOptions object ldapauth-fork hands to ldapjs. */
const ATTEMPT = Symbol('quiver.ldapAttempt');

type TaggedTlsOptions = ConnectionOptions & { [ATTEMPT]?: LdapAttempt };

/** The tlsOptions for one attempt: the connection's TLS settings with the attempt attached. */
export function attemptTlsOptions(
  base: ConnectionOptions,
  attempt: LdapAttempt,
): ConnectionOptions {
  const options: TaggedTlsOptions = { ...base };
  options[ATTEMPT] = attempt;
  return options;
}

function attemptOf(tlsOptions: unknown): LdapAttempt | undefined {
  return tlsOptions && typeof tlsOptions === 'object'
    ? (tlsOptions as TaggedTlsOptions)[ATTEMPT]
    : undefined;
}

let installed = false;

/**
 * Wraps `ldapjs.createClient`, which ldapauth-fork calls for the two connections of every login
 * (service account and user), for three reasons it gives no other way to handle:
 *
 * 1. StartTLS. ldapauth-fork's own `starttls` option sends the service-account bind without waiting
 *    for the TLS handshake and falls back to plain text when the handshake fails (ldapjs 2 marks
 *    "TODO: block traffic"). Here StartTLS runs as the client's `setup` step, which ldapjs completes
 *    before it releases any queued request: nothing but the StartTLS request itself is ever sent in
 *    clear, and a failed handshake fails the connection.
 * 2. Telling a wrong password from an unknown user and from a wrong service-account password:
 *    passport-ldapauth reports all three as the same "invalid credentials". The binds seen here say
 *    which it was.
 * 3. A last guard: a simple bind with an empty password is an unauthenticated bind (RFC 4513
 *    5.1.2) that many servers accept. It is never sent.
 *
 * Clients created without an attempt attached (none in this codebase) are left as they are.
 */
export function installLdapClientHook(): void {
  if (installed) return;
  const theirs = require.resolve('ldapjs', { paths: [dirname(require.resolve('ldapauth-fork'))] });
  if (theirs !== require.resolve('ldapjs')) {
    throw new Error(`ldapauth-fork loads another ldapjs (${theirs}): keep one version installed`);
  }
  installed = true;
  const original = ldapjs.createClient;
  const hooked = (options?: ldapjs.ClientOptions): ldapjs.Client => {
    const client = original(options);
    const attempt = attemptOf(options?.tlsOptions);
    if (!attempt) return client;
    attempt.clients.push(client);
    if (attempt.startTls) {
      const tlsOptions = options!.tlsOptions as ConnectionOptions;
      client.on('setup', (setupClient: ldapjs.Client, next: (err?: Error) => void) => {
        setupClient.starttls(tlsOptions, [], (err: Error | null) => next(err ?? undefined));
      });
    }
    const bind = client.bind.bind(client) as (...args: unknown[]) => void;
    (client as { bind: unknown }).bind = (dn: unknown, password: unknown, ...rest: unknown[]) => {
      const callback = rest[rest.length - 1];
      if (typeof callback !== 'function') return bind(dn, password, ...rest);
      if (typeof password !== 'string' || password.length === 0) {
        (callback as (err: Error) => void)(new EmptyPasswordBindRefused());
        return;
      }
      const record: { dn: string; ok: boolean | null } = { dn: String(dn), ok: null };
      attempt.binds.push(record);
      return bind(dn, password, ...rest.slice(0, -1), (err: unknown, ...res: unknown[]) => {
        record.ok = !err;
        (callback as (...a: unknown[]) => void)(err, ...res);
      });
    };
    return client;
  };
  // ldapauth-fork reads `ldap.createClient` at call time from the shared module object.
  (ldapjs as { createClient: typeof ldapjs.createClient }).createClient = hooked;
}

export class EmptyPasswordBindRefused extends Error {
  constructor() {
    super('a bind with an empty password was not sent (it would be an unauthenticated bind)');
    this.name = 'EmptyPasswordBindRefused';
  }
}
