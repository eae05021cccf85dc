import { Module } from '@nestjs/common';
import { PlatformAuthService } from './platform-auth.service';

@Module({ providers: [PlatformAuthService], exports: [PlatformAuthService] })
export class PlatformModule {}
