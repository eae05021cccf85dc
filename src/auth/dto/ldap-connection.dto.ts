import { IsBoolean, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';

/** LDAP / Active Directory connections (kind `ldap`): url, bindDn, bindPassword, searchBase required. */
export class LdapConnectionFields {
  /** `ldaps://host[:port]`, or `ldap://host[:port]` with startTls. @example "ldaps://dc1.corp.example" */
  @IsOptional()
  @IsString()
  @Length(1, 500)
  @Matches(/^ldaps?:\/\//i, { message: 'url must start with ldap:// or ldaps://' })
  url?: string;

  /** Upgrade an ldap:// connection with StartTLS before anything is sent. Default false. */
  @IsOptional()
  @IsBoolean()
  startTls?: boolean;

  /** PEM CA certificate(s) to trust for the directory's certificate instead of the system's. */
  @IsOptional()
  @IsString()
  @MaxLength(65_536)
  caCertificate?: string | null;

  /** The service account that searches. @example "cn=quiver-svc,ou=services,dc=corp,dc=example" */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  bindDn?: string;

  /** Write-only: stored encrypted, never returned. */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  bindPassword?: string;

  /** Where people are searched for (subtree). @example "ou=people,dc=corp,dc=example" */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  searchBase?: string;

  /**
   * The filter that finds one person; `{{username}}` is replaced by the login name, escaped per
   * RFC 4515. Default `(uid={{username}})`.
   * @example "(&(objectClass=user)(|(sAMAccountName={{username}})(userPrincipalName={{username}})))"
   */
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  searchFilter?: string;

  /** Accept `DOMAIN\user` logins for this NetBIOS domain (the prefix is removed). @example "CORP" */
  @IsOptional()
  @IsString()
  @Length(1, 15)
  netbiosDomain?: string | null;

  /** The entry's attribute listing its groups' DNs. Default `memberOf`; null: not read. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  groupAttribute?: string | null;

  /** With groupSearchFilter: search for the person's groups (subtree) under this DN. */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  groupSearchBase?: string | null;

  /** A group search filter with `{{dn}}` (the person's DN) or `{{username}}`. @example "(member={{dn}})" */
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  groupSearchFilter?: string | null;

  /** Default `mail` (Active Directory: `mail` or `userPrincipalName`). */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  emailAttribute?: string;

  /** Default `cn` (Active Directory: `displayName`). */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  nameAttribute?: string;

  /**
   * Trust the directory's email enough to link an existing Quiver user with that email. Default
   * false: only set it when people cannot change their own email in the directory.
   */
  @IsOptional()
  @IsBoolean()
  trustEmail?: boolean;
}

/** What an LDAP connection shows (the bind password never). */
export class LdapConnectionView {
  url!: string;
  startTls!: boolean;
  caCertificate!: string | null;
  bindDn!: string;
  /** Whether a bind password is stored (it is never returned). */
  bindPasswordSet!: boolean;
  searchBase!: string;
  searchFilter!: string;
  netbiosDomain!: string | null;
  groupAttribute!: string | null;
  groupSearchBase!: string | null;
  groupSearchFilter!: string | null;
  emailAttribute!: string;
  nameAttribute!: string;
  trustEmail!: boolean;
}

export class LdapLoginDto {
  /** `alice`, `alice@corp.example` (UPN) or `CORP\alice`. */
  @IsString()
  @MaxLength(1024)
  username!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}
