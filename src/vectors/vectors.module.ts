import { Module } from '@nestjs/common';
import { QuotasModule } from '@app/quotas/quotas.module';
import { CollectionsService } from './collections.service';
import { CollectionsController, VectorsController } from './vectors.controller';
import { VectorsService } from './vectors.service';

@Module({
  imports: [QuotasModule],
  controllers: [CollectionsController, VectorsController],
  providers: [CollectionsService, VectorsService],
  exports: [CollectionsService, VectorsService],
})
export class VectorsModule {}
