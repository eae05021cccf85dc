import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { INDEX_KINDS, IndexKind, Metric, METRIC_VALUES } from '../collection.entity';

export const METRICS: readonly Metric[] = METRIC_VALUES;
export const MAX_DIMENSION = 16000;
export const COLLECTION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class CreateCollectionDto {
  /**
   * Unique within the tenant; letters, digits, '.', '_' and '-'.
   * @example "products"
   */
  @ApiProperty({ pattern: COLLECTION_NAME_RE.source })
  @IsString()
  @Matches(COLLECTION_NAME_RE, {
    message: 'name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  name!: string;

  /** @example 1536 */
  @IsInt()
  @Min(1)
  @Max(MAX_DIMENSION)
  dimension!: number;

  /** Similarity metric. @example "cosine" */
  @IsOptional()
  @IsIn(METRICS)
  metric?: Metric;
}

export class CollectionIndexView {
  /** hnsw (vector), hnsw_halfvec (half precision, 2,001-4,000 dims) or none (exact search only). */
  @ApiProperty({ enum: INDEX_KINDS })
  kind!: IndexKind;
  /** Whether `mode: "approximate"` search is available. */
  approximateSearch!: boolean;
  /** Why the index is what it is, when it is not a plain HNSW index. */
  note?: string;
}

export class CollectionView {
  /** @example "3d0c5d0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f" */
  id!: string;
  /** @example "products" */
  name!: string;
  /** @example 1536 */
  dimension!: number;
  /** @example "cosine" */
  @ApiProperty({ enum: METRIC_VALUES })
  metric!: Metric;
  index!: CollectionIndexView;
  /** Present on GET of a single collection. @example 120000 */
  vectorCount?: number;
  createdAt!: string;
}

export class CollectionList {
  items!: CollectionView[];
}
