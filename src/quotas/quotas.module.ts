import { Module } from '@nestjs/common';
import { KeyInvalidationModule } from '@app/keys/key-invalidation.module';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';
import { QuotasController, TenantQuotasController } from './quotas.controller';
import { QuotasService } from './quotas.service';
import { UsageReconciler } from './usage-reconciler';
import { UsageRecorder } from './usage-recorder';
import { PlatformUsageController, UsageController } from './usage.controller';
import { UsageService } from './usage.service';

@Module({
  imports: [KeyInvalidationModule],
  controllers: [
    PlansController,
    QuotasController,
    TenantQuotasController,
    UsageController,
    PlatformUsageController,
  ],
  providers: [PlansService, QuotasService, UsageReconciler, UsageRecorder, UsageService],
  exports: [QuotasService, UsageReconciler, UsageRecorder],
})
export class QuotasModule {}
