import { defineErrors } from './app-exception';

/** Codes that belong to no single module: the HTTP layer, validation, authentication. */
export enum CommonErrorCode {
  ValidationFailed = 'validation_failed',
  BadRequest = 'bad_request',
  UriTooLong = 'uri_too_long',
  InvalidJson = 'invalid_json',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  RouteNotFound = 'route_not_found',
  MethodNotAllowed = 'method_not_allowed',
  Unauthenticated = 'unauthenticated',
  InvalidApiKey = 'invalid_api_key',
  InvalidPlatformToken = 'invalid_platform_token',
  InsufficientScope = 'insufficient_scope',
  PreconditionFailed = 'precondition_failed',
  PreconditionRequired = 'precondition_required',
  ServiceUnavailable = 'service_unavailable',
  InternalError = 'internal_error',
}

export const commonError = defineErrors<CommonErrorCode>({
  [CommonErrorCode.ValidationFailed]: { status: 400, title: 'Request validation failed' },
  [CommonErrorCode.BadRequest]: { status: 400, title: 'Bad request' },
  [CommonErrorCode.UriTooLong]: { status: 414, title: 'URI too long' },
  [CommonErrorCode.InvalidJson]: { status: 400, title: 'Request body is not valid JSON' },
  [CommonErrorCode.PayloadTooLarge]: { status: 413, title: 'Request body too large' },
  [CommonErrorCode.UnsupportedMediaType]: { status: 415, title: 'Unsupported media type' },
  [CommonErrorCode.RouteNotFound]: { status: 404, title: 'No such route' },
  [CommonErrorCode.MethodNotAllowed]: { status: 405, title: 'Method not allowed' },
  [CommonErrorCode.Unauthenticated]: { status: 401, title: 'Authentication required' },
  [CommonErrorCode.InvalidApiKey]: { status: 401, title: 'Invalid API key' },
  [CommonErrorCode.InvalidPlatformToken]: { status: 401, title: 'Invalid platform admin token' },
  [CommonErrorCode.InsufficientScope]: {
    status: 403,
    title: 'The credential lacks a required scope',
  },
  [CommonErrorCode.PreconditionFailed]: { status: 412, title: 'Precondition failed' },
  [CommonErrorCode.PreconditionRequired]: { status: 428, title: 'Precondition required' },
  [CommonErrorCode.ServiceUnavailable]: { status: 503, title: 'Service unavailable' },
  [CommonErrorCode.InternalError]: { status: 500, title: 'Internal server error' },
});
