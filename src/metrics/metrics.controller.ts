import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { AppConfig } from '@app/config/app-config';
import { Public } from '@app/gateway/access.decorators';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint. Open like /health, unless METRICS_TOKEN asks for a bearer token. */
@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @Get()
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const token = this.config.env.METRICS_TOKEN;
    if (token && !matches(authorization, `Bearer ${token}`)) {
      throw commonError(
        CommonErrorCode.Unauthenticated,
        'Send the metrics token as a Bearer token.',
      );
    }
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.metrics();
  }
}

function matches(presented: string | undefined, expected: string): boolean {
  const a = Buffer.from(presented ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
