import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SecretBox } from '@libs/crypto';
import { AppConfig } from '@app/config/app-config';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { isUuid } from '@app/common/uuid';
import { Db, type Tx } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { SECRET_BOX } from '@app/secrets/secrets.module';
import { AuthErrorCode, authError } from '../auth.errors';
import type { Role } from '../roles';
import { checkAssign, type Actor } from '../users.service';
import type {
  CreateSsoConnectionDto,
  SsoConnectionView,
  UpdateSsoConnectionDto,
} from '../dto/sso-connection.dto';
import { SsoAddressGuard } from './sso-address-guard';
import { SSO_KIND_SPECS, type SsoKind } from './sso-kind-registry';
import type { CommonSsoConfig, SsoConnection, SsoKindSpec } from './sso-kinds';

/** Request fields every kind has (the rest belong to one kind each). */
const COMMON_FIELDS = new Set([
  'kind',
  'name',
  'enabled',
  'redirectUris',
  'roleMapping',
  'defaultRole',
]);

/** Common fields that cannot be null (a kind's required fields cannot either). */
const NEEDS_VALUE = new Set(['name', 'enabled', 'redirectUris', 'roleMapping']);

type StoredConfig = CommonSsoConfig & Record<string, unknown>;

interface Row {
  tenant_id: string;
  id: string;
  kind: SsoKind;
  name: string;
  enabled: boolean;
  config: StoredConfig;
  secret_enc: Buffer | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * A tenant's SSO connections, of every kind: several per tenant, each on or off; a kind's secret
 * (client secret, bind password) sealed at rest and never returned. What differs per kind lives in
 * its SsoKindSpec.
 */
@Injectable()
export class SsoConnectionsService {
  private readonly publicUrl: string;
  private readonly allowHttp: boolean;

  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    @Inject(SECRET_BOX) private readonly box: SecretBox | null,
    private readonly addresses: SsoAddressGuard,
    config: AppConfig,
  ) {
    this.publicUrl = (config.env.PUBLIC_URL ?? `http://localhost:${config.env.PORT}`).replace(
      /\/$/,
      '',
    );
    this.allowHttp = config.env.SSO_ALLOW_HTTP_ISSUERS;
  }

  /** `<PUBLIC_URL>/v1/auth/<slug>/<connectionId>`: the login, callback and metadata URLs hang off it. */
  baseUrl(slug: string, connectionId: string): string {
    return `${this.publicUrl}/v1/auth/${slug}/${connectionId}`;
  }

  callbackUrl(slug: string, connectionId: string): string {
    return `${this.baseUrl(slug, connectionId)}/callback`;
  }

  async create(tenantId: string, slug: string, dto: CreateSsoConnectionDto, actor: Actor) {
    const spec: SsoKindSpec<object> = SSO_KIND_SPECS[dto.kind];
    const input = this.input(spec, dto);
    checkMappedRoles(actor, dto);
    const missing = spec.required.filter((f) => input[f] === undefined);
    if (missing.length > 0) {
      throw commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
        errors: missing.map((path) => ({ path, message: `${path} is required for ${spec.kind}` })),
      });
    }
    const id = randomUUID();
    const config: StoredConfig = {
      ...(await spec.build(input, undefined, { allowHttp: this.allowHttp })),
      redirectUris: dto.redirectUris ?? [],
      roleMapping: dto.roleMapping ?? [],
      defaultRole: dto.defaultRole ?? null,
    };
    await this.checkDestinations(spec, config, undefined);
    const row = await this.db.tenant(tenantId, async (tx) => {
      const [created] = await tx.query<Row>(
        `INSERT INTO sso_connections (tenant_id, id, kind, name, enabled, config, secret_enc)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING *`,
        [
          tenantId,
          id,
          spec.kind,
          dto.name,
          dto.enabled ?? true,
          JSON.stringify(config),
          this.seal(tenantId, id, this.secretOf(spec, input)),
        ],
      );
      await this.outbox.record(tx, tenantId, 'sso_connection.created', {
        connectionId: id,
        kind: spec.kind,
        name: dto.name,
      });
      return created;
    });
    return this.toView(row, slug);
  }

  async list(tenantId: string, slug: string): Promise<SsoConnectionView[]> {
    const rows = await this.db.tenant(tenantId, (tx) =>
      tx.query<Row>(`SELECT * FROM sso_connections ORDER BY created_at, id`),
    );
    return rows.map((r) => this.toView(r, slug));
  }

  async get(tenantId: string, slug: string, id: string): Promise<SsoConnectionView> {
    return this.toView(await this.db.tenant(tenantId, (tx) => this.find(tx, id, false)), slug);
  }

  async update(
    tenantId: string,
    slug: string,
    id: string,
    dto: UpdateSsoConnectionDto,
    actor: Actor,
  ) {
    checkMappedRoles(actor, dto);
    const row = await this.db.tenant(tenantId, async (tx) => {
      const current = await this.find(tx, id, true);
      const spec: SsoKindSpec<object> = SSO_KIND_SPECS[current.kind];
      const input = this.input(spec, dto);
      const config: StoredConfig = {
        ...current.config,
        ...(await spec.build(input, current.config, { allowHttp: this.allowHttp })),
        ...(dto.redirectUris ? { redirectUris: dto.redirectUris } : {}),
        ...(dto.roleMapping ? { roleMapping: dto.roleMapping } : {}),
        ...(dto.defaultRole !== undefined ? { defaultRole: dto.defaultRole } : {}),
      };
      this.checkSecretStays(spec, current, config, input);
      await this.checkDestinations(spec, config, current.config);
      const [updated] = await tx.query<Row>(
        `UPDATE sso_connections SET name = COALESCE($2, name), enabled = COALESCE($3, enabled),
                config = $4::jsonb, secret_enc = COALESCE($5, secret_enc), updated_at = now()
          WHERE id = $1 RETURNING *`,
        [
          id,
          dto.name ?? null,
          dto.enabled ?? null,
          JSON.stringify(config),
          this.seal(tenantId, id, this.secretOf(spec, input)),
        ],
      );
      await this.outbox.record(tx, tenantId, 'sso_connection.updated', {
        connectionId: id,
        changed: Object.keys(input),
      });
      return updated;
    });
    return this.toView(row, slug);
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.db.tenant(tenantId, async (tx) => {
      await this.find(tx, id, true);
      await tx.execute(`DELETE FROM sso_connections WHERE id = $1`, [id]);
      await this.outbox.record(tx, tenantId, 'sso_connection.deleted', { connectionId: id });
    });
  }

  /** For the login flows: the connection with its secret opened. */
  async load(tx: Tx, tenantId: string, id: string): Promise<SsoConnection> {
    const row = await this.find(tx, id, false);
    return {
      tenantId,
      id: row.id,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled,
      config: row.config,
      secret: row.secret_enc
        ? this.requireBox().open(row.secret_enc, aad(tenantId, row.id)).toString('utf8')
        : null,
    };
  }

  /** The request's fields that were sent, refusing any that belong to another kind. */
  private input(spec: SsoKindSpec<object>, dto: object): Record<string, unknown> {
    const own = new Set(spec.fields);
    const input: Record<string, unknown> = {};
    const foreign: string[] = [];
    const nulls: string[] = [];
    for (const [key, value] of Object.entries(dto)) {
      if (value === undefined) continue;
      if (!COMMON_FIELDS.has(key) && !own.has(key)) foreign.push(key);
      // null clears an optional setting; where a value is needed, it is no value at all.
      if (value === null && NEEDS_VALUE.has(key)) nulls.push(key);
      if (value === null && spec.required.includes(key)) nulls.push(key);
      input[key] = value;
    }
    if (nulls.length > 0) {
      throw commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
        errors: nulls.map((path) => ({ path, message: `${path} must not be null` })),
      });
    }
    if (foreign.length > 0) {
      throw commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
        errors: foreign.map((path) => ({
          path,
          message: `${path} is not a setting of ${spec.kind} connections`,
        })),
      });
    }
    return input;
  }

  /**
   * A stored secret is never sent somewhere new on an admin's word alone: changing where it goes
   * (the issuer, the directory's address or TLS trust, the bind DN) needs the secret sent again.
   */
  private checkSecretStays(
    spec: SsoKindSpec<object>,
    current: Row,
    next: Record<string, unknown>,
    input: Record<string, unknown>,
  ): void {
    if (!spec.secretField || current.secret_enc === null || this.secretOf(spec, input)) return;
    const moved = (spec.secretBoundFields ?? []).filter(
      (f) => JSON.stringify(next[f] ?? null) !== JSON.stringify(current.config[f] ?? null),
    );
    if (moved.length === 0) return;
    throw commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
      errors: moved.map((path) => ({
        path: spec.secretField!,
        message: `send ${spec.secretField} again when changing ${path}: the stored one is not sent to a new place`,
      })),
    });
  }

  /**
   * Where the connection would connect must be an address connections may reach (SSRF). Only a
   * destination that changes is checked, so a connection saved under wider settings can still be
   * renamed or turned off; its logins are refused at connect time all the same.
   */
  private async checkDestinations(
    spec: SsoKindSpec<object>,
    next: object,
    current: object | undefined,
  ): Promise<void> {
    if (!spec.destinations) return;
    const before = current ? spec.destinations(current) : [];
    for (const { field, url } of spec.destinations(next)) {
      if (before.some((d) => d.field === field && d.url === url)) continue;
      await this.addresses.checkUrl(field, url);
    }
  }

  private secretOf(spec: SsoKindSpec<object>, input: Record<string, unknown>): string | undefined {
    const value = spec.secretField ? input[spec.secretField] : undefined;
    return typeof value === 'string' ? value : undefined;
  }

  private seal(tenantId: string, id: string, secret: string | undefined): Buffer | null {
    if (secret === undefined) return null;
    return this.requireBox().seal(Buffer.from(secret, 'utf8'), aad(tenantId, id));
  }

  private requireBox(): SecretBox {
    if (!this.box) {
      throw authError(
        AuthErrorCode.SessionsUnavailable,
        'Set QUIVER_ENCRYPTION_KEY: connection secrets are stored encrypted.',
      );
    }
    return this.box;
  }

  private async find(tx: Tx, id: string, lock: boolean): Promise<Row> {
    if (!isUuid(id)) throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    const [row] = await tx.query<Row>(
      `SELECT * FROM sso_connections WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    if (!row) throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    return row;
  }

  private toView(row: Row, slug: string): SsoConnectionView {
    const spec: SsoKindSpec<object> = SSO_KIND_SPECS[row.kind];
    const baseUrl = this.baseUrl(slug, row.id);
    return {
      id: row.id,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled,
      redirectUris: row.config.redirectUris,
      roleMapping: row.config.roleMapping,
      defaultRole: row.config.defaultRole,
      loginUrl: `${baseUrl}/login`,
      ...spec.view(row.config, { baseUrl, secretSet: row.secret_enc !== null }),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }
}

/** The roles a connection would hand out must be ones its editor may give (an admin: no owners). */
function checkMappedRoles(
  actor: Actor,
  dto: { roleMapping?: { role: Role }[]; defaultRole?: Role | null },
): void {
  for (const m of dto.roleMapping ?? []) checkAssign(actor, m.role);
  if (dto.defaultRole) checkAssign(actor, dto.defaultRole);
}

function aad(tenantId: string, connectionId: string): string {
  return `sso-connection:${tenantId}:${connectionId}`;
}
