import type { Scope } from '@app/keys/scopes';

/** A person's role in a tenant. Each maps to the same permissions API keys hold as scopes. */
export const ROLES = ['owner', 'admin', 'developer', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  owner: ['tenant:admin'],
  admin: ['tenant:admin'],
  developer: ['vectors:read', 'vectors:write'],
  viewer: ['vectors:read'],
  auditor: ['security:read', 'usage:read'],
};

/** Higher ranks may manage lower ones; only an owner makes or removes owners. */
const RANK: Record<Role, number> = { owner: 4, admin: 3, developer: 2, viewer: 1, auditor: 1 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** A change from `from` to `to` takes permissions away (so the user's sessions must end). */
export function isDowngrade(from: Role, to: Role): boolean {
  const before = new Set(ROLE_SCOPES[from]);
  const after = new Set(ROLE_SCOPES[to]);
  if (after.has('tenant:admin')) return from === 'owner' && to !== 'owner';
  if (before.has('tenant:admin')) return true;
  return [...before].some((s) => !after.has(s));
}

/** Whether `actor` may give or take `role` (an owner: any; an admin: anything below admin). */
export function mayAssign(actor: Role | 'api_key', role: Role): boolean {
  if (actor === 'api_key' || actor === 'owner') return true;
  return RANK[actor] > RANK[role] || (actor === 'admin' && role === 'admin');
}
