import { Module } from '@nestjs/common';
import { QuotasModule } from '@app/quotas/quotas.module';
import { KeysController } from './keys.controller';
import { KeyInvalidationModule } from './key-invalidation.module';
import { KeysService } from './keys.service';
import { SigningSecrets } from './signing-secrets';

@Module({
  imports: [QuotasModule, KeyInvalidationModule],
  controllers: [KeysController],
  providers: [KeysService, SigningSecrets],
  exports: [KeysService],
})
export class KeysModule {}
