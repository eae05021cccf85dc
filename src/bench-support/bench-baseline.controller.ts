import { Controller, Get, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Pool } from 'pg';
import { TenantContext } from '@app/common/context/tenant-context';
import { AppConfig } from '@app/config/app-config';
import { RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';
import {
  COLLECTION_ROW_COLUMNS,
  toView,
  type CollectionRow,
} from '@app/vectors/collections.service';
import { CollectionList } from '@app/vectors/dto/collection.dto';

/**
 * The baseline's own pool, as BENCH_BASELINE_DATABASE_URL's role: BYPASSRLS, SELECT on collections
 * only. Row-level security does not filter it, so the query needs no tenant context to see the rows
 * the API sees. Same size and idle timeout as the app pool; connects at the first request.
 */
@Injectable()
export class BenchBaselinePool implements OnApplicationShutdown {
  readonly pool: Pool;

  constructor(config: AppConfig) {
    // parseEnv refuses BENCH_ROUTES without it.
    this.pool = new Pool({
      connectionString: config.env.BENCH_BASELINE_DATABASE_URL,
      max: config.env.DATABASE_POOL_SIZE,
      // As the app pool keeps its connections (decision 67). With pg's default of 10 s, the
      // baseline's connections closed while the API row ran and were opened again in its own slices.
      idleTimeoutMillis: config.env.DATABASE_IDLE_TIMEOUT_MS,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The baseline of the bench's tenant-context rows, mounted only with BENCH_ROUTES=true: the query of
 * GET /v1/collections behind the same guards (key, allowlist, signature, rate limit) and hooks, with
 * the same rows and the same answer, but WITHOUT the tenant context: one autocommit statement, no
 * transaction, no role or tenant set, no tenant status read; the tenant filter is the WHERE clause
 * alone. It is what the route would cost if isolation were free; the difference between the two
 * routes is what the tenant context costs per request.
 */
@ApiExcludeController()
@Controller('_bench')
export class BenchBaselineController {
  constructor(
    private readonly baseline: BenchBaselinePool,
    private readonly context: TenantContext,
  ) {}

  @RequireScopes('vectors:read', 'vectors:write', 'collections:admin')
  @RateLimitClass('read')
  @Get('collections-without-tenant-context')
  async collections(): Promise<CollectionList> {
    const res = await this.baseline.pool.query<CollectionRow>(
      `SELECT ${COLLECTION_ROW_COLUMNS} FROM collections WHERE tenant_id = $1 ORDER BY name`,
      [this.context.tenantId],
    );
    return { items: res.rows.map((r) => toView(r)) };
  }
}

@Module({ controllers: [BenchBaselineController], providers: [BenchBaselinePool] })
export class BenchBaselineModule {}
