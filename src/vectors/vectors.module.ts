import { Module } from '@nestjs/common';
import { QuotasModule } from '@app/quotas/quotas.module';
import { CollectionsService } from './collections.service';
import { CollectionsController, VectorsController } from './vectors.controller';
import { OneTripSearch } from './one-trip-search';
import { VectorsService } from './vectors.service';

@Module({
  imports: [QuotasModule],
  controllers: [CollectionsController, VectorsController],
  providers: [CollectionsService, VectorsService, OneTripSearch],
  exports: [CollectionsService, VectorsService],
})
export class VectorsModule {}
