import { RefreshTokenEntity } from '@app/auth/refresh-token.entity';
import { SigningKeyEntity } from '@app/auth/signing-key.entity';
import { SsoConnectionEntity } from '@app/auth/sso-connection.entity';
import { UserIdentityEntity } from '@app/auth/user-identity.entity';
import { UserEntity } from '@app/auth/user.entity';
import { ApiKeyEntity } from '@app/keys/api-key.entity';
import { OutboxEventEntity } from '@app/events/outbox-event.entity';
import { PlatformTokenEntity } from '@app/platform/platform-token.entity';
import { CollectionEntity } from '@app/vectors/collection.entity';
import { TenantEntity } from '@app/tenancy/tenant.entity';
import { PlanEntity } from '@app/quotas/plan.entity';
import { QuotaUsageEntity } from '@app/quotas/quota-usage.entity';
import { UsageRollupEntity, UsageStorageEntity } from '@app/quotas/usage-rollup.entity';

/** Every TypeORM entity: the schema that migration:generate diffs against. */
export const ENTITIES = [
  TenantEntity,
  PlatformTokenEntity,
  ApiKeyEntity,
  CollectionEntity,
  OutboxEventEntity,
  PlanEntity,
  QuotaUsageEntity,
  UsageRollupEntity,
  UsageStorageEntity,
  UserEntity,
  RefreshTokenEntity,
  SigningKeyEntity,
  SsoConnectionEntity,
  UserIdentityEntity,
];
