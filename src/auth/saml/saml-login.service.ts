import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { AppException } from '@app/common/errors/app-exception';
import { AppConfig } from '@app/config/app-config';
import { Db } from '@app/database/db';
import { AuthErrorCode, authError } from '../auth.errors';
import { LoginStateStore } from '../login-state.store';
import { SessionsService } from '../sessions.service';
import { SsoConnectionsService } from '../sso/sso-connections.service';
import type {
  ExternalIdentity,
  RedirectLogin,
  RedirectLoginStart,
  SsoConnection,
  SsoTenant,
} from '../sso/sso-kinds';
import { SsoLoginService } from '../sso/sso-login.service';
import { spEntityIdOf, type SamlConfig } from './saml-kind';
import { SamlRefusal, SamlServiceProvider, type VerifiedAssertion } from './saml-service-provider';
import { SamlStateStore } from './saml-state.store';

const LOGIN_TTL_MS = 10 * 60_000;
/** A posted SAMLResponse is a few KB; a big signed one with many groups stays well under this. */
export const MAX_SAML_RESPONSE_CHARS = 256 * 1024;
const LOGIN_ID = /^[\w-]{43}$/;
const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const MAX_PROVIDERS = 1000;

interface PendingLogin {
  tenantId: string;
  connectionId: string;
  /** The AuthnRequest's ID: the one response this login accepts answers it. */
  requestId: string;
  redirect: string;
}

/**
 * SAML 2.0 login for a tenant's connection: an AuthnRequest over HTTP-Redirect with the login's id
 * as RelayState (the same id is in the browser's HttpOnly cookie, and server-side with the request
 * ID and the redirect), the response posted back to our ACS and checked by node-saml (signed
 * assertion, pinned certificates, audience, times, InResponseTo), then here: issuer, recipient, the
 * login it answers, the assertion used only once. IdP-initiated responses only where the connection
 * allows them. Then the shared finish: role mapping, JIT provisioning, session, one-time code.
 */
@Injectable()
export class SamlLoginService implements RedirectLogin {
  private readonly logger = new Logger('SamlLogin');
  private readonly clockSkewMs: number;
  /** One service provider (its passport-saml strategies) per connection configuration. */
  private readonly providers = new Map<string, SamlServiceProvider>();

  constructor(
    private readonly login: SsoLoginService,
    private readonly connections: SsoConnectionsService,
    private readonly sessions: SessionsService,
    private readonly db: Db,
    private readonly store: LoginStateStore,
    private readonly samlState: SamlStateStore,
    config: AppConfig,
  ) {
    this.clockSkewMs = config.env.SAML_CLOCK_SKEW_SECONDS * 1000;
  }

  /** Begins a login (the connection is resolved and the redirect checked by the caller). */
  async start(
    tenant: SsoTenant,
    connection: SsoConnection,
    redirect: string,
  ): Promise<RedirectLoginStart> {
    const sp = this.provider(tenant.slug, connection as SsoConnection<SamlConfig>);
    const loginId = randomBytes(32).toString('base64url');
    const { url, requestId } = await sp.loginUrl(loginId);
    const pending: PendingLogin = {
      tenantId: tenant.id,
      connectionId: connection.id,
      requestId,
      redirect,
    };
    await this.store.put(`saml:${loginId}`, pending, LOGIN_TTL_MS);
    return { url, loginId, crossSitePost: true };
  }

  /**
   * The Assertion Consumer Service: checks the posted response and returns where the browser goes
   * (the redirect with a one-time code). Every refusal is recorded with its reason and answered 401.
   */
  async acs(
    slug: string,
    connectionId: string,
    form: unknown,
    cookieLoginId: string | undefined,
    ip: string,
  ): Promise<string> {
    const { tenant, connection } = await this.resolveForAcs(slug, connectionId, ip);
    const refuse = async (reason: string, detail?: string, subject?: string): Promise<never> => {
      await this.login.fail(tenant.id, connection, ip, reason, detail, subject);
      throw authError(AuthErrorCode.SsoFailed, 'The identity provider response was refused.');
    };
    const { samlResponse, relayState } = readForm(form);
    if (!samlResponse) return refuse('malformed_request', 'no usable SAMLResponse field');

    let pending: PendingLogin | undefined;
    if (relayState !== undefined && LOGIN_ID.test(relayState)) {
      pending = await this.store.take<PendingLogin>(`saml:${relayState}`);
      const sameBrowser = cookieLoginId === relayState;
      if (
        !pending ||
        !sameBrowser ||
        pending.tenantId !== tenant.id ||
        pending.connectionId !== connection.id
      ) {
        await this.login.fail(tenant.id, connection, ip, 'login_session_invalid');
        throw authError(
          AuthErrorCode.LoginSessionInvalid,
          'This response matches no login started from this browser; start again.',
        );
      }
    } else if (!connection.config.allowIdpInitiated) {
      return refuse(
        'idp_initiated_disabled',
        'an unsolicited response, and the connection takes none',
      );
    }

    const sp = this.provider(slug, connection);
    let verified: VerifiedAssertion;
    try {
      verified = await sp.verify(samlResponse, pending !== undefined);
      if (pending && verified.inResponseTo !== pending.requestId) {
        throw new SamlRefusal('in_response_to_invalid', 'answers another login of this browser');
      }
    } catch (err) {
      if (!(err instanceof SamlRefusal)) throw err;
      this.logger.warn({ connectionId, reason: err.reason, err: err.message }, 'SAML refused');
      return refuse(err.reason, err.message);
    }
    const claimed = await this.samlState.claimAssertion(
      connection.id,
      verified.assertionId,
      verified.usableUntil - Date.now(),
    );
    if (!claimed) return refuse('replayed', 'this assertion was used before', verified.nameId);
    if (verified.nameIdFormat === NAMEID_TRANSIENT) {
      return refuse(
        'transient_name_id',
        'a transient NameID changes at every login; configure a persistent one at the IdP',
        verified.nameId,
      );
    }

    const redirect =
      pending?.redirect ??
      (relayState !== undefined && connection.config.redirectUris.includes(relayState)
        ? relayState
        : connection.config.redirectUris[0]);
    if (!redirect) return refuse('no_redirect', 'the connection has no redirect URI');
    const pair = await this.login.finish(
      tenant.id,
      connection,
      identityOf(connection.config, verified),
      ip,
    );
    return this.login.handOff(tenant.id, pair, redirect);
  }

  /** Our SP metadata for the connection (served while it is disabled too: that is when IdPs are set up). */
  async metadata(slug: string, connectionId: string): Promise<string> {
    const tenant = await this.sessions.findTenant(slug);
    if (!tenant || tenant.status !== 'active') {
      throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    }
    const connection = await this.db.tenant(tenant.id, (tx) =>
      this.connections.load(tx, tenant.id, connectionId),
    );
    if (connection.kind !== 'saml') {
      throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    }
    return this.provider(slug, connection as SsoConnection<SamlConfig>).metadataXml();
  }

  /** The connection, enabled and of kind saml; a disabled one's refusal is recorded too. */
  private async resolveForAcs(slug: string, connectionId: string, ip: string) {
    try {
      return await this.login.resolve<SamlConfig>(slug, connectionId, 'saml');
    } catch (err) {
      if (
        err instanceof AppException &&
        err.code === (AuthErrorCode.ConnectionDisabled as string)
      ) {
        const tenant = await this.sessions.findTenant(slug);
        if (tenant) {
          await this.login.fail(
            tenant.id,
            { id: connectionId, kind: 'saml' },
            ip,
            'connection_disabled',
          );
        }
      }
      throw err;
    }
  }

  /** The service provider of this configuration, built once (its strategies parse certificates). */
  private provider(slug: string, connection: SsoConnection<SamlConfig>): SamlServiceProvider {
    const baseUrl = this.connections.baseUrl(slug, connection.id);
    const c = connection.config;
    const settings = {
      connectionId: connection.id,
      spEntityId: spEntityIdOf(baseUrl),
      acsUrl: this.connections.callbackUrl(slug, connection.id),
      idpEntityId: c.idpEntityId,
      idpSsoUrl: c.idpSsoUrl,
      idpCertificates: c.idpCertificates,
      wantResponseSigned: c.wantResponseSigned,
      nameIdFormat: null,
      clockSkewMs: this.clockSkewMs,
      requestTtlMs: LOGIN_TTL_MS,
    };
    const key = createHash('sha256').update(JSON.stringify(settings)).digest('base64url');
    let sp = this.providers.get(key);
    if (!sp) {
      if (this.providers.size >= MAX_PROVIDERS) this.providers.clear();
      sp = new SamlServiceProvider(
        settings,
        this.samlState.requestIds(connection.id, LOGIN_TTL_MS),
      );
      this.providers.set(key, sp);
    }
    return sp;
  }
}

/** SAMLResponse and RelayState of the posted form, each a single string of sane size. */
function readForm(form: unknown): { samlResponse?: string; relayState?: string } {
  if (typeof form !== 'object' || form === null) return {};
  const { SAMLResponse, RelayState } = form as Record<string, unknown>;
  return {
    samlResponse:
      typeof SAMLResponse === 'string' &&
      SAMLResponse.length > 0 &&
      SAMLResponse.length <= MAX_SAML_RESPONSE_CHARS
        ? SAMLResponse
        : undefined,
    relayState:
      typeof RelayState === 'string' && RelayState.length <= 2048 ? RelayState : undefined,
  };
}

/** The person in a verified assertion, in the terms every kind of login shares. */
export function identityOf(config: SamlConfig, assertion: VerifiedAssertion): ExternalIdentity {
  const first = (name: string) => assertion.attributes[name]?.find((v) => v.trim() !== '');
  const email =
    first(config.emailAttribute) ??
    (assertion.nameIdFormat === NAMEID_EMAIL ? assertion.nameId : undefined);
  return {
    subject: assertion.nameId,
    email: email?.trim() ?? null,
    // SAML has no email_verified: an IdP's email never links to an existing user (decision 43).
    emailVerified: false,
    displayName: first(config.nameAttribute)?.trim() ?? null,
    groups: (assertion.attributes[config.groupsAttribute] ?? []).filter((g) => g !== ''),
  };
}
