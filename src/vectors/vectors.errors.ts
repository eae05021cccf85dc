import { defineErrors } from '@app/common/errors/app-exception';

export enum VectorsErrorCode {
  CollectionNotFound = 'collection_not_found',
  CollectionExists = 'collection_exists',
  DimensionMismatch = 'dimension_mismatch',
  InvalidVector = 'invalid_vector',
  ZeroVector = 'zero_vector',
  BatchTooLarge = 'batch_too_large',
  EmptyBatch = 'empty_batch',
  DuplicateVectorId = 'duplicate_vector_id',
  InvalidVectorId = 'invalid_vector_id',
  InvalidMetadata = 'invalid_metadata',
  InvalidFilter = 'invalid_filter',
  ApproximateSearchUnavailable = 'approximate_search_unavailable',
  InvalidDeleteRequest = 'invalid_delete_request',
  CollectionNotPermitted = 'collection_not_permitted',
  FilterViolation = 'filter_violation',
}

export const vectorsError = defineErrors<VectorsErrorCode>({
  [VectorsErrorCode.CollectionNotFound]: { status: 404, title: 'Collection not found' },
  [VectorsErrorCode.CollectionExists]: { status: 409, title: 'A collection with this name exists' },
  [VectorsErrorCode.DimensionMismatch]: {
    status: 400,
    title: "Vector dimension does not match the collection's",
  },
  [VectorsErrorCode.InvalidVector]: {
    status: 400,
    title: 'Vector values must be finite 32-bit floats',
  },
  [VectorsErrorCode.ZeroVector]: { status: 400, title: 'A zero vector has no cosine similarity' },
  [VectorsErrorCode.BatchTooLarge]: { status: 400, title: 'Too many items in one request' },
  [VectorsErrorCode.EmptyBatch]: { status: 400, title: 'The batch is empty' },
  [VectorsErrorCode.DuplicateVectorId]: {
    status: 400,
    title: 'The same vector id appears twice in the batch',
  },
  [VectorsErrorCode.InvalidVectorId]: { status: 400, title: 'Invalid vector id' },
  [VectorsErrorCode.InvalidMetadata]: { status: 400, title: 'Invalid metadata' },
  [VectorsErrorCode.InvalidFilter]: { status: 400, title: 'Invalid metadata filter' },
  [VectorsErrorCode.ApproximateSearchUnavailable]: {
    status: 400,
    title: 'This collection supports exact search only',
  },
  [VectorsErrorCode.InvalidDeleteRequest]: { status: 400, title: 'Say which vectors to delete' },
  [VectorsErrorCode.CollectionNotPermitted]: {
    status: 403,
    title: 'Collection not permitted for this key',
  },
  [VectorsErrorCode.FilterViolation]: { status: 403, title: "Outside the key's enforced filter" },
});
