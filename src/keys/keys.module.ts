import { Module } from '@nestjs/common';
import { QuotasModule } from '@app/quotas/quotas.module';
import { KeysController } from './keys.controller';
import { KeyInvalidationService } from './key-invalidation.service';
import { KeysService } from './keys.service';
import { SigningSecrets } from './signing-secrets';

@Module({
  imports: [QuotasModule],
  controllers: [KeysController],
  providers: [KeysService, KeyInvalidationService, SigningSecrets],
  exports: [KeysService],
})
export class KeysModule {}
