import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type Redis from 'ioredis';
import { Db } from '@app/database/db';
import { Public } from '@app/gateway/access.decorators';
import { REDIS } from '@app/redis/redis.module';
import { withTimeout } from '@libs/timeout';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: Db,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {}

  @ApiOperation({ summary: 'Liveness: the process is up' })
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @ApiOperation({ summary: 'Readiness: the database (and Redis, when configured) answer' })
  @Get('ready')
  @HealthCheck()
  ready() {
    const checks = [
      () => this.check('database', () => this.db.platform((tx) => tx.query('SELECT 1'))),
    ];
    const redis = this.redis;
    if (redis) checks.push(() => this.check('redis', () => redis.ping()));
    return this.health.check(checks);
  }

  private async check(name: string, probe: () => Promise<unknown>): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(name);
    try {
      await withTimeout(probe(), 2000);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: err instanceof Error ? err.message : 'unreachable' });
    }
  }
}
