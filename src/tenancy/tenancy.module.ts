import { Module } from '@nestjs/common';
import { KeysModule } from '@app/keys/keys.module';
import { TenantPurger } from './tenant-purger';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [KeysModule],
  controllers: [TenantsController],
  providers: [TenantsService, TenantPurger],
  exports: [TenantsService],
})
export class TenancyModule {}
