import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { fastCheck } from '@app/common/validation/app-validation.pipe';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
} from 'class-validator';

export class VectorInputDto {
  /** @example "sku-1842" */
  id!: string;
  /** Exactly `dimension` finite numbers. @example [0.12, -0.4, 0.93] */
  values!: number[];
  /** Any JSON object up to 40 KiB; filterable. @example {"category":"shoes","price":79.9,"added":"2026-03-01"} */
  metadata?: Record<string, unknown>;
}

export class UpsertVectorsDto {
  /**
   * 1 to 1,000 vectors. All or nothing: if any item is invalid, none is stored. Items are checked
   * by the service (ids, dimensions, finite values, metadata), which names the failing item.
   */
  @ApiProperty({ type: [VectorInputDto], minItems: 1, maxItems: 1000 })
  @IsArray()
  vectors!: unknown[];
}

export class UpsertResult {
  /** @example 2 */
  upserted!: number;
  /** @example 1 */
  inserted!: number;
  /** @example 1 */
  updated!: number;
}

export class FetchVectorsDto {
  /** @example ["sku-1842", "sku-1843"] */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  ids!: string[];

  /** @example true */
  @IsOptional()
  @IsBoolean()
  includeValues?: boolean;

  /** @example true */
  @IsOptional()
  @IsBoolean()
  includeMetadata?: boolean;
}

export class StoredVector {
  id!: string;
  values?: number[];
  metadata?: Record<string, unknown>;
}

export class FetchResult {
  /** Found vectors, in the order asked for; ids not found are listed in `missing`. */
  vectors!: StoredVector[];
  missing!: string[];
}

export class DeleteVectorsDto {
  /** Delete these ids. Give either ids or filter. @example ["sku-1842"] */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  ids?: string[];

  /** Delete every vector matching this metadata filter (must not be empty). @example {"category":{"$eq":"discontinued"}} */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;
}

export class DeleteResult {
  /** @example 1 */
  deleted!: number;
}

export class CountVectorsDto {
  /** Count only vectors matching this filter. @example {"category":"shoes"} */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;
}

export class CountResult {
  /** @example 120000 */
  count!: number;
}

export type SearchMode = 'auto' | 'exact' | 'approximate';

export class SearchDto {
  /** The query vector: exactly `dimension` finite numbers. @example [0.1, -0.3, 0.9] */
  @ApiProperty({ type: [Number] })
  @IsArray()
  vector!: unknown[];

  /** How many results (1-1000). @example 10 */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  topK?: number;

  /**
   * Metadata filter: field conditions ($eq, $ne, $in, $nin, $gt, $gte, $lt, $lte on numbers and ISO
   * 8601 dates) combined with $and, $or, $not.
   * @example {"$and":[{"category":"shoes"},{"price":{"$lt":100}}]}
   */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  /** exact: brute force, always correct; approximate: HNSW index; auto: approximate when indexed. */
  @IsOptional()
  @IsIn(['auto', 'exact', 'approximate'])
  mode?: SearchMode;

  /** HNSW candidate list size (approximate only; default from tenant settings or HNSW_EF_SEARCH). @example 100 */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  efSearch?: number;

  /** @example false */
  @IsOptional()
  @IsBoolean()
  includeValues?: boolean;

  /** @example true */
  @IsOptional()
  @IsBoolean()
  includeMetadata?: boolean;
}

export class SearchMatch {
  /** @example "sku-1842" */
  id!: string;
  /** cosine: cosine similarity; dot: inner product (higher is closer); l2: Euclidean distance (lower is closer). @example 0.93 */
  score!: number;
  values?: number[];
  metadata?: Record<string, unknown>;
}

export class SearchResult {
  matches!: SearchMatch[];
  /** Which search actually ran. */
  @ApiProperty({ enum: ['exact', 'approximate'] })
  mode!: 'exact' | 'approximate';
}

const SEARCH_FIELDS = new Set([
  'vector',
  'topK',
  'filter',
  'mode',
  'efSearch',
  'includeValues',
  'includeMetadata',
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const intIn = (v: unknown, min: number, max: number) =>
  v === undefined || (Number.isInteger(v) && (v as number) >= min && (v as number) <= max);

/**
 * True only for a plain search body that SearchDto's rules certainly accept: known fields only, each
 * absent or of its type and range. Null, extra fields and anything doubtful return false, and the
 * body goes through class-validator instead (which then answers with its usual errors).
 */
export function searchBodyCertainlyValid(value: unknown): boolean {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Object.keys(value)) if (!SEARCH_FIELDS.has(key)) return false;
  const { vector, topK, filter, mode, efSearch, includeValues, includeMetadata } = value;
  return (
    Array.isArray(vector) &&
    intIn(topK, 1, 1000) &&
    intIn(efSearch, 1, 1000) &&
    (filter === undefined || isRecord(filter)) &&
    (mode === undefined || mode === 'auto' || mode === 'exact' || mode === 'approximate') &&
    (includeValues === undefined || typeof includeValues === 'boolean') &&
    (includeMetadata === undefined || typeof includeMetadata === 'boolean')
  );
}

// The search route is the hot path: its bodies skip class-transformer when certainly valid.
fastCheck(SearchDto, searchBodyCertainlyValid);
