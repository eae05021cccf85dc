import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import passport from 'passport';
import LdapAuthStrategy from 'passport-ldapauth';
import { fillFilterTemplate } from '@libs/ldap';
import { AddressNotAllowedError, type ResolvedAddress } from '@libs/net';
import { AppConfig } from '@app/config/app-config';
import { SsoAddressGuard } from '../sso/sso-address-guard';
import { attemptTlsOptions, installLdapClientHook, type LdapAttempt } from './ldap-client-hook';
import { ALWAYS_REQUESTED } from './ldap-identity';
import type { LdapConfig } from './ldap-kind';
import { parseCaCertificates } from './ldap-kind';
import { classifyLdapResult, FAILURE_LABELS, type LdapOutcome } from './ldap-outcome';

const MAX_STRATEGIES = 500;

/**
 * What an attempt binds as when the search found no entry or several: an RDN no directory holds, under
 * the connection's search base (so the same backend answers it), with a password nobody knows. See
 * equalisingBind.
 */
export const ABSENT_ENTRY_RDN = 'cn=quiver-no-such-entry';
const ABSENT_ENTRY_PASSWORD = randomBytes(24).toString('base64url');

/** What one login brings to its connection's strategy (passport-ldapauth reads options per request). */
interface AttemptRequest {
  username: string;
  password: string;
  searchFilter: string;
  groupSearchFilter: ((user: { dn: string }) => string) | undefined;
  attempt: LdapAttempt;
  /** The connection's URL with its host replaced by the address checked for this attempt. */
  url: string;
  address: string;
}

type ServerOptions = LdapAuthStrategy.Options['server'];
type StaticServer = Omit<ServerOptions, 'searchFilter'> & { tlsOptions: ConnectionOptions };

/**
 * passport-ldapauth's strategy for one connection's settings, through @nestjs/passport's mixin. The
 * connection's fixed settings are built once; what depends on the login (the filled filters, the
 * credentials, the attempt's observer) comes with each request.
 */
class LdapConnectionStrategy extends PassportStrategy(LdapAuthStrategy) {
  constructor(server: StaticServer) {
    super(
      (incoming: unknown, done: (err: Error | null, options: LdapAuthStrategy.Options) => void) => {
        const req = incoming as AttemptRequest;
        done(null, {
          server: {
            ...server,
            searchAttributes: [...(server.searchAttributes ?? [])],
            url: req.url,
            searchFilter: req.searchFilter,
            ...(req.groupSearchFilter ? { groupSearchFilter: req.groupSearchFilter } : {}),
            // `host` is where TLS connects (it overrides the URL's); `servername`, when the
            // connection names a host, is what its certificate is checked against.
            tlsOptions: attemptTlsOptions({ ...server.tlsOptions, host: req.address }, req.attempt),
          },
          credentialsLookup: () => ({ username: req.username, password: req.password }),
        });
      },
    );
  }

  /**
   * Called by the mixin's constructor to register the strategy: strategies here are used by
   * instance, never registered by name in the global passport.
   */
  getPassportInstance() {
    return new passport.Passport();
  }

  /** The entry as found (after the password bind); its checks are the login service's. */
  validate(entry: unknown): unknown {
    return entry;
  }
}

/**
 * Checks a username and password against a tenant's directory with passport-ldapauth: the service
 * account binds and searches with the escaped name, a search finding other than exactly one entry
 * fails, a bind as that entry proves the password, groups come from memberOf and/or a group search.
 * One strategy per connection settings (keyed by a hash that includes the bind password); every
 * attempt settles once, within SSO_LDAP_TIMEOUT_MS, and never throws.
 */
@Injectable()
export class LdapAuthenticator {
  private readonly strategies = new Map<string, LdapConnectionStrategy>();
  private readonly passport = new passport.Passport();
  private readonly timeoutMs: number;

  constructor(
    config: AppConfig,
    private readonly addresses: SsoAddressGuard,
  ) {
    this.timeoutMs = config.env.SSO_LDAP_TIMEOUT_MS;
    installLdapClientHook();
  }

  /** `name` is the normalised login name (libs/ldap parseLoginName); `password` is not blank. */
  async authenticate(
    config: LdapConfig,
    bindPassword: string,
    name: string,
    password: string,
  ): Promise<LdapOutcome> {
    const target = await this.checkedAddress(config.url);
    if (!('address' in target)) return target;
    return this.run(config, bindPassword, name, password, target);
  }

  /**
   * The directory's address for this attempt, resolved now (DNS may have changed since the connection
   * was saved) and refused unless every address it resolves to is allowed; ldapjs then connects to
   * this address, not to a second lookup of the name.
   */
  private async checkedAddress(url: string): Promise<ResolvedAddress | LdapOutcome> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('DNS lookup timeout')), this.timeoutMs);
      });
      const [first] = await Promise.race([this.addresses.resolve(host), timeout]);
      return first;
    } catch (err) {
      if (err instanceof AddressNotAllowedError)
        return { kind: 'unavailable', reason: 'address_not_allowed', detail: err.message };
      const detail = String(err).slice(0, 200);
      return /timeout/i.test(detail)
        ? { kind: 'unavailable', reason: 'directory_timeout', detail }
        : { kind: 'unavailable', reason: 'directory_unreachable', detail };
    } finally {
      clearTimeout(timer);
    }
  }

  private run(
    config: LdapConfig,
    bindPassword: string,
    name: string,
    password: string,
    target: ResolvedAddress,
  ): Promise<LdapOutcome> {
    const strategy = this.strategyFor(config, bindPassword);
    const attempt: LdapAttempt = { startTls: config.startTls, binds: [], clients: [] };
    const deadline = Date.now() + this.timeoutMs;
    const groupTemplate = config.groupSearchFilter;
    const request: AttemptRequest = {
      username: name,
      password,
      searchFilter: fillFilterTemplate(config.searchFilter, { username: name }),
      groupSearchFilter: groupTemplate
        ? (user) => fillFilterTemplate(groupTemplate, { dn: user.dn, username: name })
        : undefined,
      attempt,
      url: pinnedUrl(config.url, target),
      address: target.address,
    };
    return new Promise<LdapOutcome>((resolve) => {
      let settled = false;
      // passport-ldapauth can report one refused connection twice (each client errors): first wins.
      const settle = (outcome: LdapOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const finish = () => {
          if (outcome.kind !== 'ok') for (const client of attempt.clients) client.destroy();
          resolve(outcome);
        };
        if (refusedBeforeUserBind(outcome, attempt)) {
          void equalisingBind(attempt, config.searchBase, deadline).then(finish);
        } else {
          finish();
        }
      };
      const timer = setTimeout(
        () => settle({ kind: 'unavailable', reason: 'directory_timeout' }),
        this.timeoutMs,
      );
      timer.unref();
      const settleFrom = (err: unknown, user?: unknown, info?: unknown) => {
        try {
          settle(classifyLdapResult(err, user, info, attempt));
        } catch (e) {
          settle({
            kind: 'unavailable',
            reason: 'directory_error',
            detail: String(e).slice(0, 200),
          });
        }
      };
      try {
        // Object.create: passport augments the strategy it is given with per-request actions.
        const middleware = this.passport.authenticate(
          Object.create(strategy) as LdapConnectionStrategy,
          { session: false, ...FAILURE_LABELS },
          settleFrom,
        ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
        middleware(request, {}, (err?: unknown) => settleFrom(err ?? new Error('passport passed')));
      } catch (err) {
        settleFrom(err);
      }
    });
  }

  private strategyFor(config: LdapConfig, bindPassword: string): LdapConnectionStrategy {
    const key = createHash('sha256')
      .update(JSON.stringify(config))
      .update('\0')
      .update(bindPassword)
      .digest('base64url');
    let strategy = this.strategies.get(key);
    if (!strategy) {
      if (this.strategies.size >= MAX_STRATEGIES) this.strategies.clear();
      strategy = new LdapConnectionStrategy(this.serverOptions(config, bindPassword));
      this.strategies.set(key, strategy);
    }
    return strategy;
  }

  private serverOptions(config: LdapConfig, bindPassword: string): StaticServer {
    const host = new URL(config.url).hostname.replace(/^\[|\]$/g, '');
    const tlsOptions: ConnectionOptions = {
      // Never relaxed: there is no setting that turns certificate checks off.
      rejectUnauthorized: true,
      host,
      ...(isIP(host) ? {} : { servername: host }),
      ...(config.caCertificate ? { ca: parseCaCertificates(config.caCertificate) } : {}),
      minVersion: 'TLSv1.2',
    };
    const attributes = new Set([
      ...ALWAYS_REQUESTED,
      config.emailAttribute,
      config.nameAttribute,
      ...(config.groupAttribute ? [config.groupAttribute] : []),
    ]);
    return {
      url: config.url,
      bindDN: config.bindDn,
      bindCredentials: bindPassword,
      searchBase: config.searchBase,
      searchScope: 'sub',
      searchAttributes: [...attributes],
      includeRaw: true,
      ...(config.groupSearchBase
        ? {
            groupSearchBase: config.groupSearchBase,
            groupSearchScope: 'sub' as const,
            groupSearchAttributes: ['cn'],
          }
        : {}),
      timeout: this.timeoutMs,
      connectTimeout: this.timeoutMs,
      reconnect: false,
      tlsOptions,
    };
  }
}

/** `ldaps://dc.corp:636` with its host replaced by the checked address (`ldaps://10.1.2.3:636`). */
function pinnedUrl(url: string, target: ResolvedAddress): string {
  const parsed = new URL(url);
  const host = target.family === 6 ? `[${target.address}]` : target.address;
  return `${parsed.protocol}//${host}${parsed.port ? `:${parsed.port}` : ''}`;
}

/**
 * Refused by the search (no entry, or several) after the service account bound: the password was never
 * tried, so the answer would come a bind earlier than for a wrong password.
 */
function refusedBeforeUserBind(outcome: LdapOutcome, attempt: LdapAttempt): boolean {
  return outcome.kind === 'refused' && attempt.binds.length === 1 && attempt.binds[0].ok === true;
}

/**
 * The bind a wrong password would have cost, sent where that one would have gone: on ldapauth-fork's
 * user connection (its second client; already open, through StartTLS where configured) as
 * ABSENT_ENTRY_RDN under the search base. Its answer is ignored; it only makes an unknown or
 * ambiguous name take the same round trips as a known one, so timing does not tell which names exist.
 * A DN that does not exist rather than a real one with a wrong password: failed binds on a real entry
 * (the service account) would let anyone lock it out under a password policy. Settles by `deadline`.
 */
function equalisingBind(attempt: LdapAttempt, searchBase: string, deadline: number): Promise<void> {
  const userClient = attempt.clients[1];
  if (!userClient) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      userClient.bind(`${ABSENT_ENTRY_RDN},${searchBase}`, ABSENT_ENTRY_PASSWORD, done);
    } catch {
      done();
    }
  });
}
