import type { Tx } from '@app/database/db';

/**
 * Ending sessions, in the caller's transaction. A login's access tokens die with its refresh-token
 * family (the per-request check looks for a live token of the family); all of a user's die when its
 * session version moves.
 */
export function revokeLogin(tx: Tx, familyId: string): Promise<number> {
  return tx.execute(
    `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
    [familyId],
  );
}

/** Every login of the user: its refresh tokens revoked (callers bump session_version as well). */
export function revokeUserLogins(tx: Tx, userId: string): Promise<number> {
  return tx.execute(
    `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`,
    [userId],
  );
}
