import { Injectable, Logger } from '@nestjs/common';
import { normaliseDn, parseLoginName } from '@libs/ldap';
import type { TokenPair } from '../sessions.service';
import type { SsoConnection, SsoTenant } from '../sso/sso-kinds';
import { SsoLoginService } from '../sso/sso-login.service';
import { LdapAuthenticator } from './ldap-authenticator';
import { accountState, identityOf, normaliseRoleMapping, subjectOf } from './ldap-identity';
import type { LdapConfig } from './ldap-kind';
import { LdapErrorCode, ldapError } from './ldap.errors';

/**
 * Username/password sign-in through a tenant's LDAP or Active Directory connection. Everything
 * refused is a 401 `ldap_invalid_credentials` whose reason goes only to the security event; a
 * directory that cannot answer is a 503. Blank passwords and names that hold filter syntax are
 * refused before the directory is asked.
 */
@Injectable()
export class LdapLoginService {
  private readonly logger = new Logger('LdapLogin');

  constructor(
    private readonly sso: SsoLoginService,
    private readonly authenticator: LdapAuthenticator,
  ) {}

  async login(
    slug: string,
    connectionId: string,
    username: string,
    password: string,
    ip: string,
  ): Promise<TokenPair> {
    const { tenant, connection } = await this.sso.resolve<LdapConfig>(slug, connectionId, 'ldap');
    const config = connection.config;
    const typed = `login name ${JSON.stringify(username.slice(0, 100))}`;
    // An empty password makes a simple bind unauthenticated (RFC 4513 5.1.2), which many
    // directories accept as anonymous: it must never reach one.
    if (password.trim().length === 0)
      throw await this.refuse(tenant, connection, ip, 'blank_password', typed);
    const parsed = parseLoginName(username, config.netbiosDomain);
    if (!parsed.ok) throw await this.refuse(tenant, connection, ip, parsed.reason, typed);
    if (!connection.secret) {
      await this.sso.fail(tenant.id, connection, ip, 'no_bind_password');
      throw ldapError(LdapErrorCode.DirectoryUnavailable, 'The connection has no bind password.');
    }

    const outcome = await this.authenticator.authenticate(
      config,
      connection.secret,
      parsed.name,
      password,
    );
    if (outcome.kind === 'unavailable') {
      this.logger.warn(
        { connectionId, reason: outcome.reason, detail: outcome.detail },
        'LDAP directory unavailable',
      );
      await this.sso.fail(tenant.id, connection, ip, outcome.reason, outcome.detail);
      throw ldapError(
        LdapErrorCode.DirectoryUnavailable,
        outcome.reason === 'address_not_allowed'
          ? "The directory's address is not allowed for SSO connections; ask the operator."
          : 'The directory did not answer; try again later.',
      );
    }
    if (outcome.kind === 'refused')
      throw await this.refuse(tenant, connection, ip, outcome.reason, typed);

    const entry = outcome.entry;
    const subject = subjectOf(entry);
    if (normaliseDn(entry.dn) === normaliseDn(config.bindDn))
      throw await this.refuse(tenant, connection, ip, 'service_account', typed, subject);
    const state = accountState(entry);
    if (state) throw await this.refuse(tenant, connection, ip, state, typed, subject);

    // Groups are matched case-insensitively, by DN or by common name.
    const matching: SsoConnection = {
      ...connection,
      config: { ...config, roleMapping: normaliseRoleMapping(config.roleMapping) },
    };
    return this.sso.finish(tenant.id, matching, identityOf(entry, config), ip);
  }

  private async refuse(
    tenant: SsoTenant,
    connection: SsoConnection,
    ip: string,
    reason: string,
    detail: string,
    subject?: string,
  ) {
    await this.sso.fail(tenant.id, connection, ip, reason, detail, subject);
    return ldapError(LdapErrorCode.InvalidCredentials, 'The username or the password is wrong.');
  }
}
