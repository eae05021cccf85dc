import { Global, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import { TenantContext } from './tenant-context';

/**
 * Plain ClsModule (not forRoot): forRoot registers a global guard and interceptor that cost most of
 * the throughput (STACK-NOTES.md). The context is started by a Fastify preHandler hook instead.
 */
@Global()
@Module({
  imports: [ClsModule],
  providers: [TenantContext],
  exports: [TenantContext, ClsModule],
})
export class ContextModule {}
