import { X509Certificate } from 'node:crypto';
import {
  checkFilterSyntax,
  fillFilterTemplate,
  isNetbiosDomain,
  looksLikeDn,
  templatePlaceholders,
} from '@libs/ldap';
import type { SsoKindSpec } from '../sso/sso-kinds';
import { ssoConfigInvalid } from '../sso/sso-kinds';

/** The non-secret settings of an LDAP / Active Directory connection (sso_connections.config). */
export interface LdapConfig {
  /** `ldaps://host[:port]` or `ldap://host[:port]`, no path. */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS before anything is sent. */
  startTls: boolean;
  /** PEM CA certificate(s): when set, only these are trusted for the directory's certificate. */
  caCertificate: string | null;
  /** The service account that searches (its password is the connection's sealed secret). */
  bindDn: string;
  searchBase: string;
  /** With `{{username}}`, filled with the RFC 4515-escaped login name. */
  searchFilter: string;
  /** NetBIOS domain accepted in `DOMAIN\user` logins; null: that form is refused. */
  netbiosDomain: string | null;
  /** The entry's attribute listing its groups' DNs (memberOf); null: not read. */
  groupAttribute: string | null;
  /** A group search (both or neither): the groups whose filter matches, `{{dn}}` / `{{username}}`. */
  groupSearchBase: string | null;
  groupSearchFilter: string | null;
  emailAttribute: string;
  nameAttribute: string;
  /** The directory's email is trusted to link an existing Quiver user of that email. */
  trustEmail: boolean;
}

const DEFAULTS = {
  startTls: false,
  caCertificate: null,
  searchFilter: '(uid={{username}})',
  netbiosDomain: null,
  groupAttribute: 'memberOf',
  groupSearchBase: null,
  groupSearchFilter: null,
  emailAttribute: 'mail',
  nameAttribute: 'cn',
  trustEmail: false,
} satisfies Partial<LdapConfig>;

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A field's new value: undefined when not sent, null when sent as null (cleared). */
function field(input: Record<string, unknown>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(input, name) ? input[name] : undefined;
}

function pick<K extends keyof LdapConfig>(
  input: Record<string, unknown>,
  current: LdapConfig | undefined,
  name: K,
): LdapConfig[K] {
  const sent = field(input, name);
  if (sent !== undefined)
    return (sent ?? (DEFAULTS as Partial<LdapConfig>)[name] ?? null) as LdapConfig[K];
  if (current && current[name] !== undefined) return current[name];
  return ((DEFAULTS as Partial<LdapConfig>)[name] ?? null) as LdapConfig[K];
}

/** `ldaps://host:port` from what was typed; throws on anything else. */
export function normaliseLdapUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ssoConfigInvalid('url', 'url must be ldap://host[:port] or ldaps://host[:port]');
  }
  const protocol = url.protocol.toLowerCase();
  if (
    (protocol !== 'ldap:' && protocol !== 'ldaps:') ||
    !url.hostname ||
    url.username ||
    url.password ||
    (url.pathname !== '' && url.pathname !== '/') ||
    url.search ||
    url.hash
  ) {
    throw ssoConfigInvalid('url', 'url must be ldap://host[:port] or ldaps://host[:port]');
  }
  return `${protocol}//${url.host.toLowerCase()}`;
}

/** The PEM's certificates, each parsed (so a broken one is refused when saved, not at login). */
export function parseCaCertificates(pem: string): string[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0)
    throw ssoConfigInvalid('caCertificate', 'caCertificate must hold PEM certificates');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw ssoConfigInvalid(
        'caCertificate',
        'caCertificate holds a certificate that does not parse',
      );
    }
  }
  return blocks;
}

function checkTemplate(path: string, template: string, allowed: string[], required: string[]) {
  const used = templatePlaceholders(template);
  const unknown = used.filter((p) => !allowed.includes(p));
  if (unknown.length > 0)
    throw ssoConfigInvalid(
      path,
      `${path} may use ${allowed.map((p) => `{{${p}}}`).join(', ')} only`,
    );
  for (const p of required) {
    if (!used.includes(p)) throw ssoConfigInvalid(path, `${path} must contain {{${p}}}`);
  }
  const sample = Object.fromEntries(allowed.map((p) => [p, 'x']));
  const problem = checkFilterSyntax(fillFilterTemplate(template, sample));
  if (problem) throw ssoConfigInvalid(path, `${path} is not a valid LDAP filter (${problem})`);
}

/**
 * LDAP / Active Directory: a service account searches for the person's entry with the filter,
 * then a bind as that entry proves the password. The bind password is the sealed secret.
 */
export const LDAP_KIND: SsoKindSpec<LdapConfig> = {
  kind: 'ldap',
  fields: [
    'url',
    'startTls',
    'caCertificate',
    'bindDn',
    'bindPassword',
    'searchBase',
    'searchFilter',
    'netbiosDomain',
    'groupAttribute',
    'groupSearchBase',
    'groupSearchFilter',
    'emailAttribute',
    'nameAttribute',
    'trustEmail',
  ],
  required: ['name', 'url', 'bindDn', 'bindPassword', 'searchBase'],
  secretField: 'bindPassword',
  secretBoundFields: ['url', 'startTls', 'caCertificate', 'bindDn'],
  build(input, current, { allowHttp }) {
    const sentUrl = field(input, 'url');
    const config: LdapConfig = {
      url: typeof sentUrl === 'string' ? normaliseLdapUrl(sentUrl) : current!.url,
      startTls: pick(input, current, 'startTls'),
      caCertificate: pick(input, current, 'caCertificate'),
      bindDn: pick(input, current, 'bindDn'),
      searchBase: pick(input, current, 'searchBase'),
      searchFilter: pick(input, current, 'searchFilter'),
      netbiosDomain: pick(input, current, 'netbiosDomain'),
      groupAttribute: pick(input, current, 'groupAttribute'),
      groupSearchBase: pick(input, current, 'groupSearchBase'),
      groupSearchFilter: pick(input, current, 'groupSearchFilter'),
      emailAttribute: pick(input, current, 'emailAttribute'),
      nameAttribute: pick(input, current, 'nameAttribute'),
      trustEmail: pick(input, current, 'trustEmail'),
    };
    const secure = config.url.startsWith('ldaps:');
    if (secure && config.startTls)
      throw ssoConfigInvalid(
        'startTls',
        'startTls applies to ldap:// URLs; ldaps:// is TLS already',
      );
    if (!secure && !config.startTls && !allowHttp) {
      throw ssoConfigInvalid(
        'url',
        'ldap:// without startTls sends passwords in clear: use ldaps:// or startTls: true',
      );
    }
    if (config.caCertificate !== null) parseCaCertificates(config.caCertificate);
    for (const path of ['bindDn', 'searchBase'] as const) {
      if (!looksLikeDn(config[path])) throw ssoConfigInvalid(path, `${path} must be a DN`);
    }
    checkTemplate('searchFilter', config.searchFilter, ['username'], ['username']);
    if ((config.groupSearchBase === null) !== (config.groupSearchFilter === null)) {
      throw ssoConfigInvalid(
        config.groupSearchBase === null ? 'groupSearchBase' : 'groupSearchFilter',
        'groupSearchBase and groupSearchFilter go together',
      );
    }
    if (config.groupSearchBase !== null && !looksLikeDn(config.groupSearchBase))
      throw ssoConfigInvalid('groupSearchBase', 'groupSearchBase must be a DN');
    if (config.groupSearchFilter !== null)
      checkTemplate('groupSearchFilter', config.groupSearchFilter, ['dn', 'username'], []);
    if (config.netbiosDomain !== null && !isNetbiosDomain(config.netbiosDomain))
      throw ssoConfigInvalid('netbiosDomain', 'netbiosDomain must be a NetBIOS domain name');
    for (const path of ['groupAttribute', 'emailAttribute', 'nameAttribute'] as const) {
      const value = config[path];
      if (value !== null && !ATTRIBUTE.test(value))
        throw ssoConfigInvalid(path, `${path} must be an attribute name`);
    }
    return config;
  },
  destinations: (config) => [{ field: 'url', url: config.url }],
  view(config, { secretSet }) {
    return {
      url: config.url,
      startTls: config.startTls,
      caCertificate: config.caCertificate,
      bindDn: config.bindDn,
      bindPasswordSet: secretSet,
      searchBase: config.searchBase,
      searchFilter: config.searchFilter,
      netbiosDomain: config.netbiosDomain,
      groupAttribute: config.groupAttribute,
      groupSearchBase: config.groupSearchBase,
      groupSearchFilter: config.groupSearchFilter,
      emailAttribute: config.emailAttribute,
      nameAttribute: config.nameAttribute,
      trustEmail: config.trustEmail,
    };
  },
};
