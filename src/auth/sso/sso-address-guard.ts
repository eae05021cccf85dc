import { Injectable } from '@nestjs/common';
import { lookup } from 'node:dns/promises';
import {
  AddressNotAllowedError,
  AddressPolicy,
  guardedFetch,
  resolveAllowed,
  type ResolvedAddress,
  type Resolver,
} from '@libs/net';
import { AppConfig } from '@app/config/app-config';
import { AuthErrorCode, authError } from '../auth.errors';

const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Where SSO connections may connect: public addresses, plus what SSO_ALLOW_PRIVATE_ADDRESSES or
 * SSO_ALLOWED_PRIVATE_CIDRS open. Checked when a connection is saved (a clear 400 for the admin) and
 * again at every connection (DNS answers change), on the address actually connected to.
 */
@Injectable()
export class SsoAddressGuard {
  /** For openid-client: every request of a connection (discovery, JWKS, token, userinfo). */
  readonly fetch: ReturnType<typeof guardedFetch>;
  /** Compiled once: the settings are read at boot and never change while the process runs. */
  private readonly policy: AddressPolicy;

  constructor(config: AppConfig) {
    this.policy = AddressPolicy.compile({
      allowPrivate: config.env.SSO_ALLOW_PRIVATE_ADDRESSES,
      allowedCidrs: config.env.SSO_ALLOWED_PRIVATE_CIDRS,
    });
    this.fetch = guardedFetch(() => this.policy, systemResolver);
  }

  /** The host's addresses, all allowed; throws AddressNotAllowedError, or DNS's error. */
  resolve(host: string): Promise<ResolvedAddress[]> {
    return resolveAllowed(host, this.policy, systemResolver);
  }

  /**
   * At save time: refuses a URL whose host is, or resolves to, an address connections may not reach
   * (400 sso_address_not_allowed naming the field). A name that does not resolve (yet) is accepted:
   * the check at connect time decides. With every private range open nothing but unspecified,
   * broadcast or multicast could be refused, so only literals are checked and DNS is not asked.
   */
  async checkUrl(field: string, url: string): Promise<void> {
    const host = new URL(url).hostname;
    const policy = this.policy;
    try {
      const literal = host.startsWith('[') || /^[\d.]+$/.test(host);
      if (policy.opensPrivate && !literal) return;
      await resolveAllowed(host, policy, systemResolver);
    } catch (err) {
      if (!(err instanceof AddressNotAllowedError)) return;
      throw authError(
        AuthErrorCode.AddressNotAllowed,
        `${field}: ${err.message}. SSO connections reach public addresses only, unless the operator opens private ones (SSO_ALLOW_PRIVATE_ADDRESSES, SSO_ALLOWED_PRIVATE_CIDRS).`,
        { field, address: err.address, range: err.range },
      );
    }
  }
}
