import { Module } from '@nestjs/common';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';
import { QuotasController, TenantQuotasController } from './quotas.controller';
import { QuotasService } from './quotas.service';
import { UsageReconciler } from './usage-reconciler';

@Module({
  controllers: [PlansController, QuotasController, TenantQuotasController],
  providers: [PlansService, QuotasService, UsageReconciler],
  exports: [QuotasService, UsageReconciler],
})
export class QuotasModule {}
