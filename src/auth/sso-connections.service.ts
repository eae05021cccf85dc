import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SecretBox } from '@libs/crypto';
import { AppConfig } from '@app/config/app-config';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { isUuid } from '@app/common/uuid';
import { Db, type Tx } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { SECRET_BOX } from '@app/secrets/secrets.module';
import { AuthErrorCode, authError } from './auth.errors';
import type {
  CreateSsoConnectionDto,
  RoleMappingDto,
  SsoConnectionView,
  UpdateSsoConnectionDto,
} from './dto/sso-connection.dto';
import type { Role } from './roles';

/** The non-secret part of an OIDC connection, as stored in sso_connections.config. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  idTokenAlg: string;
  redirectUris: string[];
  groupsClaim: string;
  roleMapping: RoleMappingDto[];
  defaultRole: Role | null;
}

export interface SsoConnection {
  tenantId: string;
  id: string;
  kind: 'oidc';
  name: string;
  enabled: boolean;
  config: OidcConfig;
  clientSecret: string | null;
}

interface Row {
  tenant_id: string;
  id: string;
  kind: 'oidc';
  name: string;
  enabled: boolean;
  config: OidcConfig;
  secret_enc: Buffer | null;
  created_at: Date;
  updated_at: Date;
}

/** A tenant's SSO connections: several per tenant, each on or off; secrets sealed at rest. */
@Injectable()
export class SsoConnectionsService {
  private readonly publicUrl: string;
  private readonly allowHttp: boolean;

  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    @Inject(SECRET_BOX) private readonly box: SecretBox | null,
    config: AppConfig,
  ) {
    this.publicUrl = (config.env.PUBLIC_URL ?? `http://localhost:${config.env.PORT}`).replace(
      /\/$/,
      '',
    );
    this.allowHttp = config.env.SSO_ALLOW_HTTP_ISSUERS;
  }

  callbackUrl(slug: string, connectionId: string): string {
    return `${this.publicUrl}/v1/auth/${slug}/${connectionId}/callback`;
  }

  async create(tenantId: string, slug: string, dto: CreateSsoConnectionDto) {
    const missing = (['name', 'issuer', 'clientId', 'redirectUris'] as const).filter(
      (f) => dto[f] === undefined,
    );
    if (missing.length > 0) {
      throw commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
        errors: missing.map((path) => ({ path, message: `${path} is required` })),
      });
    }
    this.checkIssuer(dto.issuer!);
    const id = randomUUID();
    const config: OidcConfig = {
      issuer: dto.issuer!.replace(/\/$/, ''),
      clientId: dto.clientId!,
      idTokenAlg: dto.idTokenAlg ?? 'RS256',
      redirectUris: dto.redirectUris!,
      groupsClaim: dto.groupsClaim ?? 'groups',
      roleMapping: dto.roleMapping ?? [],
      defaultRole: dto.defaultRole ?? null,
    };
    const row = await this.db.tenant(tenantId, async (tx) => {
      const [created] = await tx.query<Row>(
        `INSERT INTO sso_connections (tenant_id, id, kind, name, enabled, config, secret_enc)
         VALUES ($1, $2, 'oidc', $3, $4, $5::jsonb, $6) RETURNING *`,
        [
          tenantId,
          id,
          dto.name,
          dto.enabled ?? true,
          JSON.stringify(config),
          this.seal(tenantId, id, dto.clientSecret),
        ],
      );
      await this.outbox.record(tx, tenantId, 'sso_connection.created', {
        connectionId: id,
        kind: 'oidc',
        issuer: config.issuer,
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

  async update(tenantId: string, slug: string, id: string, dto: UpdateSsoConnectionDto) {
    if (dto.issuer) this.checkIssuer(dto.issuer);
    const row = await this.db.tenant(tenantId, async (tx) => {
      const current = await this.find(tx, id, true);
      const config: OidcConfig = {
        ...current.config,
        ...(dto.issuer ? { issuer: dto.issuer.replace(/\/$/, '') } : {}),
        ...(dto.clientId ? { clientId: dto.clientId } : {}),
        ...(dto.idTokenAlg ? { idTokenAlg: dto.idTokenAlg } : {}),
        ...(dto.redirectUris ? { redirectUris: dto.redirectUris } : {}),
        ...(dto.groupsClaim ? { groupsClaim: dto.groupsClaim } : {}),
        ...(dto.roleMapping ? { roleMapping: dto.roleMapping } : {}),
        ...(dto.defaultRole !== undefined ? { defaultRole: dto.defaultRole } : {}),
      };
      const [updated] = await tx.query<Row>(
        `UPDATE sso_connections SET name = COALESCE($2, name), enabled = COALESCE($3, enabled),
                config = $4::jsonb, secret_enc = COALESCE($5, secret_enc), updated_at = now()
          WHERE id = $1 RETURNING *`,
        [
          id,
          dto.name ?? null,
          dto.enabled ?? null,
          JSON.stringify(config),
          this.seal(tenantId, id, dto.clientSecret),
        ],
      );
      await this.outbox.record(tx, tenantId, 'sso_connection.updated', {
        connectionId: id,
        changed: Object.entries(dto)
          .filter(([, v]) => v !== undefined)
          .map(([k]) => k),
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

  /** For the login flow: the connection with its secret opened. */
  async load(tx: Tx, tenantId: string, id: string): Promise<SsoConnection> {
    const row = await this.find(tx, id, false);
    return {
      tenantId,
      id: row.id,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled,
      config: row.config,
      clientSecret: row.secret_enc
        ? this.requireBox().open(row.secret_enc, aad(tenantId, row.id)).toString('utf8')
        : null,
    };
  }

  private checkIssuer(issuer: string): void {
    if (issuer.startsWith('https://') || this.allowHttp) return;
    throw commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
      errors: [{ path: 'issuer', message: 'issuer must be an https URL' }],
    });
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
    return {
      id: row.id,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled,
      issuer: row.config.issuer,
      clientId: row.config.clientId,
      clientSecretSet: row.secret_enc !== null,
      idTokenAlg: row.config.idTokenAlg,
      redirectUris: row.config.redirectUris,
      groupsClaim: row.config.groupsClaim,
      roleMapping: row.config.roleMapping,
      defaultRole: row.config.defaultRole,
      loginUrl: `${this.publicUrl}/v1/auth/${slug}/${row.id}/login`,
      callbackUrl: this.callbackUrl(slug, row.id),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }
}

function aad(tenantId: string, connectionId: string): string {
  return `sso-connection:${tenantId}:${connectionId}`;
}
