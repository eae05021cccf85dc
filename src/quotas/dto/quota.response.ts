import { ApiProperty } from '@nestjs/swagger';
import { LIMIT_NAMES, LimitName } from '../limits';

export class QuotaLineView {
  @ApiProperty({ enum: LIMIT_NAMES })
  name!: LimitName;
  /** null: unlimited. */
  @ApiProperty({ type: 'integer', nullable: true })
  limit!: number | null;
  /** Where the limit comes from: the plan, or the tenant's settings (quotas.limits). */
  @ApiProperty({ enum: ['plan', 'override'] })
  source!: 'plan' | 'override';
  /**
   * Current usage, for the counted resources (collections, vectors, storedBytes, apiKeys); null for
   * limits checked per request (dimensionsPerCollection) or meant for the rate limiter
   * (requestsPerDay, searchesPerSecond), and for webhookEndpoints (no webhooks yet).
   */
  @ApiProperty({ type: 'integer', nullable: true })
  used!: number | null;
}

export class QuotaView {
  /** @example "pro" */
  plan!: string;
  /** Usage, in percent of a limit, at which quota.warning is emitted. @example 80 */
  warningPercent!: number;
  limits!: QuotaLineView[];
}
