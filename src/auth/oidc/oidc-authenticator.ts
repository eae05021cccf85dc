import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { type AuthenticateOptions, Strategy as OpenIdStrategy } from 'openid-client/passport';
import passport from 'passport';
import { AppConfig } from '@app/config/app-config';
import { SsoAddressGuard } from '../sso/sso-address-guard';
import type { SsoConnection } from '../sso/sso-kinds';
import type { OidcConfig } from './oidc-kind';

const DISCOVERY_TTL_MS = 5 * 60_000;
const MAX_STRATEGIES = 1000;
/** Each request to the provider times out at 10 s (discovery's `timeout`); a leg makes at most three. */
const ATTEMPT_TIMEOUT_MS = 45_000;
const SESSION_KEY = 'oidc';
const SCOPE = 'openid email profile';

/** What openid-client's Strategy keeps between the two legs, in `req.session[sessionKey]`. */
export interface OidcFlowState {
  code_verifier: string;
  state?: string;
  nonce?: string;
  max_age?: number;
}

/**
 * The request a leg hands to the strategy: a stand-in, not the HTTP request. The strategy reads
 * `method`, `session` and, through the overrides below, the rest; nothing comes from Host headers.
 */
interface AttemptRequest {
  method: 'GET';
  /** Decided by us, not by what the query holds: a callback never starts a new authorization request. */
  leg: 'start' | 'callback';
  callbackUrl: string;
  /** The callback's raw query string, as received. */
  query: string;
  session: Record<string, OidcFlowState | undefined>;
}

type StrategyRequest = Parameters<OpenIdStrategy['currentUrl']>[0];
type Tokens = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

type Outcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'success'; claims: Record<string, unknown> }
  | { kind: 'refused'; err: unknown };

/**
 * openid-client's passport Strategy for one connection's discovered configuration, through
 * @nestjs/passport's mixin. It builds the authorization request (code, PKCE S256) and, on the way back,
 * redeems the code and validates the response and the ID token (state, nonce, RFC 9207 `iss`, issuer,
 * audience, expiry, pinned algorithm, signature); `validate` adds userinfo.
 */
class OidcConnectionStrategy extends PassportStrategy(OpenIdStrategy) {
  constructor(readonly configuration: client.Configuration) {
    super({ config: configuration, name: 'oidc', sessionKey: SESSION_KEY, scope: SCOPE });
  }

  /** Strategies are used by instance, never registered by name in the global passport. */
  getPassportInstance() {
    return new passport.Passport();
  }

  /**
   * The Strategy sends no state and no nonce when the provider supports PKCE; we send both (bound to
   * the login's server-side record, checked at the callback by the Strategy from its session).
   */
  override authorizationRequestParams<T extends AuthenticateOptions>(
    req: StrategyRequest,
    options: T,
  ): URLSearchParams {
    const params = new URLSearchParams(super.authorizationRequestParams(req, options));
    params.set('state', client.randomState());
    params.set('nonce', client.randomNonce());
    return params;
  }

  /** Our exact callback URL and the query received: the redirect_uri never depends on Host. */
  override currentUrl(req: StrategyRequest): URL {
    const attempt = req as unknown as AttemptRequest;
    return new URL(`${attempt.callbackUrl}?${attempt.query}`);
  }

  override shouldInitiateAuthRequest(req: StrategyRequest): boolean {
    return (req as unknown as AttemptRequest).leg === 'start';
  }

  /** The tokens are valid (the Strategy checked them); the person is the ID token's and userinfo's claims. */
  async validate(tokens: Tokens): Promise<Record<string, unknown>> {
    const idClaims = tokens.claims();
    if (!idClaims) throw new Error('no ID token');
    const userinfo = await client.fetchUserInfo(
      this.configuration,
      tokens.access_token,
      idClaims.sub,
    );
    return { ...idClaims, ...userinfo };
  }
}

/**
 * Runs the two legs of an OIDC login through openid-client's passport Strategy, one strategy per
 * connection settings (discovery included, kept 5 minutes). Each leg runs on a private passport
 * instance with a stand-in request whose `session` is the login's server-side record, and settles once.
 */
@Injectable()
export class OidcAuthenticator {
  private readonly allowHttp: boolean;
  private readonly passport = new passport.Passport();
  private readonly strategies = new Map<
    string,
    { at: number; strategy: Promise<OidcConnectionStrategy> }
  >();

  constructor(
    config: AppConfig,
    private readonly addresses: SsoAddressGuard,
  ) {
    this.allowHttp = config.env.SSO_ALLOW_HTTP_ISSUERS;
  }

  /** The provider's authorization URL, the issuer it was discovered from, and the state to keep. */
  async begin(
    connection: SsoConnection<OidcConfig>,
    callbackUrl: string,
  ): Promise<{
    url: string;
    issuer: string;
    flow: OidcFlowState & { state: string; nonce: string };
  }> {
    const strategy = await this.strategyFor(connection);
    const req: AttemptRequest = {
      method: 'GET',
      leg: 'start',
      callbackUrl,
      query: '',
      session: {},
    };
    const outcome = await this.run(strategy, req, callbackUrl);
    const flow = req.session[SESSION_KEY];
    if (outcome.kind !== 'redirect' || !flow?.state || !flow.nonce) {
      throw outcome.kind === 'refused' ? outcome.err : new Error('no authorization request');
    }
    const { state, nonce } = flow;
    return {
      url: outcome.url,
      issuer: strategy.configuration.serverMetadata().issuer,
      flow: { ...flow, state, nonce },
    };
  }

  /**
   * The claims of the person the provider vouches for. Throws (an Error whose message says why) on any
   * refusal, including a provider whose discovered issuer is no longer the one the login started with.
   */
  async complete(
    connection: SsoConnection<OidcConfig>,
    issuer: string,
    flow: OidcFlowState,
    callbackUrl: string,
    query: string,
  ): Promise<Record<string, unknown>> {
    const strategy = await this.strategyFor(connection);
    if (strategy.configuration.serverMetadata().issuer !== issuer)
      throw new Error('issuer changed');
    const req: AttemptRequest = {
      method: 'GET',
      leg: 'callback',
      callbackUrl,
      query,
      session: { [SESSION_KEY]: flow },
    };
    const outcome = await this.run(strategy, req, callbackUrl);
    if (outcome.kind === 'success') return outcome.claims;
    if (outcome.kind === 'redirect') throw new Error('unexpected redirect');
    throw outcome.err instanceof Error ? outcome.err : new Error(String(outcome.err));
  }

  private run(
    strategy: OidcConnectionStrategy,
    req: AttemptRequest,
    callbackUrl: string,
  ): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(
        () => settle({ kind: 'refused', err: new Error('identity provider timeout') }),
        ATTEMPT_TIMEOUT_MS,
      );
      timer.unref();
      // passport touches the response only to redirect: statusCode, Location, end().
      let location: string | undefined;
      const res = {
        statusCode: 0,
        setHeader(name: string, value: unknown) {
          if (name.toLowerCase() === 'location') location = String(value);
        },
        end() {
          settle(
            location
              ? { kind: 'redirect', url: location }
              : { kind: 'refused', err: new Error('redirect without a location') },
          );
        },
      };
      const done = (err: unknown, user?: unknown, info?: unknown) => {
        if (err) return settle({ kind: 'refused', err });
        if (user && typeof user === 'object') {
          return settle({ kind: 'success', claims: user as Record<string, unknown> });
        }
        // fail(): no state to check, or the provider answered access_denied.
        const message = (info as { message?: unknown } | undefined)?.message;
        settle({
          kind: 'refused',
          err: new Error(typeof message === 'string' ? message : 'refused'),
        });
      };
      try {
        const options: AuthenticateOptions = { session: false, callbackURL: callbackUrl };
        // Object.create: passport augments the strategy it is given with per-request actions.
        const middleware = this.passport.authenticate(
          Object.create(strategy) as OidcConnectionStrategy,
          options,
          done,
        ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
        middleware(req, res, (err?: unknown) => done(err ?? new Error('passport passed')));
      } catch (err) {
        done(err);
      }
    });
  }

  private strategyFor(connection: SsoConnection<OidcConfig>): Promise<OidcConnectionStrategy> {
    const key = createHash('sha256')
      .update(connection.id)
      .update('\0')
      .update(JSON.stringify(connection.config))
      .update('\0')
      .update(connection.secret ?? '')
      .digest('base64url');
    const hit = this.strategies.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.strategy;
    const entry = {
      at: Date.now(),
      strategy: this.discover(connection).then((config) => new OidcConnectionStrategy(config)),
    };
    entry.strategy.catch(() => {
      if (this.strategies.get(key) === entry) this.strategies.delete(key);
    });
    if (this.strategies.size >= MAX_STRATEGIES) this.strategies.clear();
    this.strategies.set(key, entry);
    return entry.strategy;
  }

  private discover(connection: SsoConnection<OidcConfig>): Promise<client.Configuration> {
    const { issuer, clientId, idTokenAlg } = connection.config;
    const insecure = this.allowHttp && issuer.startsWith('http://');
    return client.discovery(
      new URL(issuer),
      clientId,
      { id_token_signed_response_alg: idTokenAlg },
      connection.secret ? client.ClientSecretBasic(connection.secret) : client.None(),
      {
        // The ID token's signature is verified against the provider's JWKS too, not only trusted
        // because it came over the back channel (OIDC Core 3.1.3.7 allows skipping that; we do not).
        execute: [
          client.enableNonRepudiationChecks,
          ...(insecure ? [client.allowInsecureRequests] : []),
        ],
        timeout: 10,
        // Every request of this connection (discovery here; JWKS, token and userinfo later, the
        // Configuration keeps it) goes to an address the SSRF policy allows, checked at connect time.
        [client.customFetch]: this.addresses.fetch,
      },
    );
  }
}
