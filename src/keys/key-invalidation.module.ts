import { Module } from '@nestjs/common';
import { KeyInvalidationService } from './key-invalidation.service';

/** The key cache and its cross-instance invalidation, on its own so modules KeysModule uses can reach it. */
@Module({ providers: [KeyInvalidationService], exports: [KeyInvalidationService] })
export class KeyInvalidationModule {}
