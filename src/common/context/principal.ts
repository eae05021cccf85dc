import type { ClsStore } from 'nestjs-cls';
import type { Scope } from '@app/keys/scopes';

/** Who is making the call. Set once per request by the authentication guard. */
export type Principal =
  | { kind: 'api_key'; tenantId: string; keyId: string; scopes: readonly Scope[] }
  | { kind: 'platform_admin'; tokenId: string }
  | { kind: 'job'; tenantId: string; job: string };

export interface RequestStore extends ClsStore {
  requestId: string;
  tenantId?: string;
  principal?: Principal;
}
