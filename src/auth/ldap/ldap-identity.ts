import { firstRdnValue, looksLikeDn, normaliseDn } from '@libs/ldap';
import type { ExternalIdentity, RoleMapping } from '../sso/sso-kinds';
import type { LdapConfig } from './ldap-kind';
import type { LdapEntry, LdapRefusal } from './ldap-outcome';

/** AD userAccountControl: ACCOUNTDISABLE. */
const UAC_ACCOUNTDISABLE = 0x2;

/** The attributes every search asks for besides the configured ones (operational ones must be named). */
export const ALWAYS_REQUESTED = [
  'entryUUID',
  'objectGUID',
  'userAccountControl',
  'pwdAccountLockedTime',
];

/** An attribute's values, whatever the case the directory spelled its name in. */
export function values(entry: LdapEntry, attribute: string): string[] {
  const wanted = attribute.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== wanted || key === '_raw' || key === '_groups') continue;
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    return typeof value === 'string' ? [value] : [];
  }
  return [];
}

function rawValue(entry: LdapEntry, attribute: string): Buffer | undefined {
  const wanted = attribute.toLowerCase();
  for (const [key, value] of Object.entries(entry._raw ?? {})) {
    if (key.toLowerCase() !== wanted) continue;
    const first = Array.isArray(value) ? value[0] : value;
    return Buffer.isBuffer(first) ? first : undefined;
  }
  return undefined;
}

/**
 * The subject a login is known by: a stable identifier, so renaming or moving the entry keeps its
 * Quiver user. entryUUID (RFC 4530: OpenLDAP, 389-ds, ...) else objectGUID (Active Directory), else
 * the DN. The prefix keeps the three spaces apart.
 */
export function subjectOf(entry: LdapEntry): string {
  const [uuid] = values(entry, 'entryUUID');
  if (uuid && /^[0-9a-f-]{36}$/i.test(uuid)) return `entryUUID:${uuid.toLowerCase()}`;
  const guid = rawValue(entry, 'objectGUID');
  if (guid && guid.length === 16) return `objectGUID:${formatGuid(guid)}`;
  return `dn:${normaliseDn(entry.dn)}`;
}

/** A GUID as AD shows it: the first three groups little-endian. */
export function formatGuid(b: Buffer): string {
  const hex = (bytes: number[]) => bytes.map((i) => b[i].toString(16).padStart(2, '0')).join('');
  return [
    hex([3, 2, 1, 0]),
    hex([5, 4]),
    hex([7, 6]),
    hex([8, 9]),
    hex([10, 11, 12, 13, 14, 15]),
  ].join('-');
}

/** Whether the directory marks the account as unusable (checked after the password is proven). */
export function accountState(entry: LdapEntry): LdapRefusal | null {
  const [uac] = values(entry, 'userAccountControl');
  if (uac !== undefined && /^-?\d+$/.test(uac) && (Number(uac) & UAC_ACCOUNTDISABLE) !== 0)
    return 'user_disabled';
  if (values(entry, 'pwdAccountLockedTime').length > 0) return 'account_locked';
  return null;
}

/**
 * The names a group can be mapped by: its DN and its common name, both compared case-insensitively
 * (as directories compare them) after {@link groupKey}.
 */
export function groupNames(groupDns: readonly string[]): string[] {
  const names = new Set<string>();
  for (const dn of groupDns) {
    names.add(normaliseDn(dn));
    const cn = firstRdnValue(dn);
    if (cn) names.add(cn.trim().toLowerCase());
  }
  return [...names];
}

/** How a role mapping's group is compared: a DN normalised, a bare name lower-cased. */
export function groupKey(group: string): string {
  return looksLikeDn(group) ? normaliseDn(group) : group.trim().toLowerCase();
}

export function normaliseRoleMapping(mapping: readonly RoleMapping[]): RoleMapping[] {
  return mapping.map((m) => ({ group: groupKey(m.group), role: m.role }));
}

/** The person the directory vouched for, in the terms every SSO kind uses. */
export function identityOf(entry: LdapEntry, config: LdapConfig): ExternalIdentity {
  const groupDns = [
    ...(config.groupAttribute ? values(entry, config.groupAttribute) : []),
    ...(entry._groups ?? []).map((g) => g.dn).filter((dn) => typeof dn === 'string'),
  ];
  const [email] = values(entry, config.emailAttribute);
  const [name] = values(entry, config.nameAttribute);
  return {
    subject: subjectOf(entry),
    email: email?.trim() || null,
    emailVerified: config.trustEmail,
    displayName: name?.trim().slice(0, 200) || null,
    groups: groupNames(groupDns),
  };
}
