import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import { TenantContext } from '@app/common/context/tenant-context';
import { Db } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';

export class AuthSettingsDto {
  /** Whether people may sign in with email and password (break-glass). @example true */
  @IsBoolean()
  localLogin!: boolean;
}

/**
 * The tenant's own sign-in settings (settings.auth), changeable by its admins; the rest of the
 * settings document stays with the platform admin.
 */
@ApiTags('users')
@RequireScopes('users:admin')
@RateLimitClass('admin')
@Controller('auth-settings')
export class AuthSettingsController {
  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: "The tenant's sign-in settings" })
  @Get()
  async get(): Promise<AuthSettingsDto> {
    const [row] = await this.db.tenant(this.context.tenantId, (tx) =>
      tx.query<{ local_login: boolean }>(
        `SELECT COALESCE((settings #>> '{auth,localLogin}')::boolean, true) AS local_login FROM tenants`,
      ),
    );
    return { localLogin: row.local_login };
  }

  @ApiOperation({ summary: 'Turn the break-glass local login on or off' })
  @Put()
  async put(@Body() dto: AuthSettingsDto): Promise<AuthSettingsDto> {
    const tenantId = this.context.tenantId;
    await this.db.tenant(tenantId, async (tx) => {
      await tx.execute(
        `UPDATE tenants SET settings = jsonb_set(settings, '{auth}',
                  COALESCE(settings -> 'auth', '{}'::jsonb) || jsonb_build_object('localLogin', $1::boolean)),
                settings_version = settings_version + 1, settings_updated_at = now(), updated_at = now()
          WHERE id = $2`,
        [dto.localLogin, tenantId],
      );
      await this.outbox.record(tx, tenantId, 'tenant.settings_updated', {
        sections: ['auth'],
        localLogin: dto.localLogin,
        by: this.context.principal?.kind ?? null,
      });
    });
    return { localLogin: dto.localLogin };
  }
}
