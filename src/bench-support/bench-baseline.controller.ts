import { Controller, Get, Inject, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TenantContext } from '@app/common/context/tenant-context';
import { DATABASE_CONNECTION, type DatabaseConnection } from '@app/database/database.module';
import { RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';
import { COLLECTION_ROW_COLUMNS } from '@app/vectors/collections.service';
import { CollectionList } from '@app/vectors/dto/collection.dto';

/**
 * The baseline of the bench's tenant-context rows, mounted only with BENCH_ROUTES=true: the query of
 * GET /v1/collections behind the same guards (key, allowlist, signature, rate limit) and hooks, but
 * WITHOUT the tenant context: one autocommit statement on the app pool, no transaction, no role or
 * tenant set, no tenant status read. Row-level security therefore shows it no rows (the answer is
 * always an empty list), which is the point: it is what the route would cost if isolation were free.
 * The difference between the two routes is what the tenant context costs per request.
 */
@ApiExcludeController()
@Controller('_bench')
export class BenchBaselineController {
  constructor(
    @Inject(DATABASE_CONNECTION) private readonly db: DatabaseConnection,
    private readonly context: TenantContext,
  ) {}

  @RequireScopes('vectors:read', 'vectors:write', 'collections:admin')
  @RateLimitClass('read')
  @Get('collections-without-tenant-context')
  async collections(): Promise<CollectionList> {
    const res = await this.db.pool.query(
      `SELECT ${COLLECTION_ROW_COLUMNS} FROM collections WHERE tenant_id = $1 ORDER BY name`,
      [this.context.tenantId],
    );
    if (res.rows.length > 0)
      throw new Error('the bench baseline saw rows: row-level security is off');
    return { items: [] };
  }
}

@Module({ controllers: [BenchBaselineController] })
export class BenchBaselineModule {}
