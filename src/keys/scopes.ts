/**
 * The permissions of the tenant API. An API key holds some as its scopes; a user holds those of its
 * role (src/auth/roles.ts). `tenant:admin` includes every other one.
 */
export const SCOPES = [
  'vectors:read',
  'vectors:write',
  'collections:admin',
  'users:admin',
  'security:read',
  'usage:read',
  'tenant:admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** True when the granted scopes satisfy at least one of the accepted ones. */
export function hasAnyScope(granted: readonly Scope[], accepted: readonly Scope[]): boolean {
  if (granted.includes('tenant:admin')) return true;
  return accepted.some((s) => granted.includes(s));
}
