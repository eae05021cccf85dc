import type { ClsStore } from 'nestjs-cls';
import type { Scope } from '@app/keys/scopes';

/**
 * What a credential may reach inside its tenant. A scoped API key narrows it; nothing in a request
 * can widen it.
 */
export interface AccessScope {
  /** Collection names the caller may use; null: all. */
  collections: readonly string[] | null;
  /** A metadata filter ANDed into every read, delete and write; null: none. */
  filter: Record<string, unknown> | null;
}

export const UNRESTRICTED: AccessScope = Object.freeze({ collections: null, filter: null });

/** Who is making the call. Set once per request by the authentication guard. */
export type Principal =
  | {
      kind: 'api_key';
      tenantId: string;
      keyId: string;
      scopes: readonly Scope[];
      scope: AccessScope;
    }
  | {
      kind: 'user';
      tenantId: string;
      userId: string;
      role: string;
      scopes: readonly Scope[];
      /** The login session (refresh-token family) the access token belongs to. */
      sessionId: string;
    }
  | { kind: 'platform_admin'; tokenId: string }
  | { kind: 'job'; tenantId: string; job: string };

export interface RequestStore extends ClsStore {
  requestId: string;
  tenantId?: string;
  principal?: Principal;
}
