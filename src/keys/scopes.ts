/** What an API key may do. `tenant:admin` includes every other scope. */
export const SCOPES = [
  'vectors:read',
  'vectors:write',
  'collections:admin',
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
