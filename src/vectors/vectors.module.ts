import { Module } from '@nestjs/common';
import { CollectionsService } from './collections.service';
import { CollectionsController, VectorsController } from './vectors.controller';
import { VectorsService } from './vectors.service';

@Module({
  controllers: [CollectionsController, VectorsController],
  providers: [CollectionsService, VectorsService],
  exports: [CollectionsService, VectorsService],
})
export class VectorsModule {}
