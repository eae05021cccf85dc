import { Module } from '@nestjs/common';
import { RateLimiter } from './rate-limiter';

/** The limiter's store, on its own so ThrottlerModule's async options can inject it. */
@Module({ providers: [RateLimiter], exports: [RateLimiter] })
export class RateLimitModule {}
