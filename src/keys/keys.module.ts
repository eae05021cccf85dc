import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller';
import { KeyInvalidationService } from './key-invalidation.service';
import { KeysService } from './keys.service';

@Module({
  controllers: [KeysController],
  providers: [KeysService, KeyInvalidationService],
  exports: [KeysService],
})
export class KeysModule {}
