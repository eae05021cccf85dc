import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from './app-exception';
import { CommonErrorCode, commonError } from './common-errors';
import { PROBLEM_CONTENT_TYPE, ProblemDocument, problemType } from './problem';

/** Fastify's own errors (body parsing, limits) carry a statusCode and an FST_ code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * Turns anything thrown into an RFC 9457 problem document. Known errors keep their stable code;
 * anything else becomes a 500 whose body holds only an error id that the log line also carries.
 */
export function toAppException(exception: unknown, logger: Logger): AppException {
  if (exception instanceof AppException) return exception;
  if (exception instanceof HttpException) return fromHttpException(exception);
  const transient = transientDatabaseError(exception);
  if (transient) {
    logger.warn({ err: exception }, 'transient database error');
    return transient;
  }
  const fst = exception as FastifyLikeError;
  if (fst && typeof fst.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    return fromFastifyError(fst);
  }
  const errorId = randomUUID();
  logger.error({ err: exception, errorId }, 'unhandled error');
  return commonError(CommonErrorCode.InternalError, 'An unexpected error occurred.', { errorId });
}

/**
 * Deadlocks, serialization failures, lock and statement timeouts, and a database that cannot be
 * reached are worth retrying: 503 with Retry-After, not a 500.
 */
const TRANSIENT_PG_CODES = new Set(['40P01', '40001', '55P03', '57014', '57P01', '53300']);
const TRANSIENT_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

function transientDatabaseError(exception: unknown): AppException | undefined {
  const code = (exception as { code?: unknown })?.code;
  if (typeof code !== 'string') return undefined;
  if (!TRANSIENT_PG_CODES.has(code) && !TRANSIENT_NET_CODES.has(code)) return undefined;
  return commonError(
    CommonErrorCode.ServiceUnavailable,
    'The database is busy or unreachable; retry shortly.',
    {},
    { 'retry-after': '1' },
  );
}

function fromFastifyError(err: FastifyLikeError): AppException {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return commonError(
        CommonErrorCode.PayloadTooLarge,
        'The request body exceeds the size limit.',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return commonError(
        CommonErrorCode.UnsupportedMediaType,
        'Send the body as application/json.',
      );
    case 'FST_ERR_BAD_URL':
      return commonError(CommonErrorCode.BadRequest, 'The URL is malformed.');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return commonError(CommonErrorCode.UriTooLong, 'A path parameter is too long.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return commonError(CommonErrorCode.InvalidJson, 'The JSON body is empty.');
    default:
      if (err.statusCode === 400) {
        return commonError(CommonErrorCode.InvalidJson, 'The request body could not be parsed.');
      }
      if (err.statusCode === 413) {
        return commonError(
          CommonErrorCode.PayloadTooLarge,
          'The request body exceeds the size limit.',
        );
      }
      if (err.statusCode === 415) {
        return commonError(
          CommonErrorCode.UnsupportedMediaType,
          'Send the body as application/json.',
        );
      }
      return commonError(CommonErrorCode.ValidationFailed, 'The request could not be processed.');
  }
}

function fromHttpException(ex: HttpException): AppException {
  const status = ex.getStatus();
  switch (status) {
    case 404:
      return commonError(CommonErrorCode.RouteNotFound, 'No route matches this method and path.');
    case 405:
      return commonError(CommonErrorCode.MethodNotAllowed, 'This method is not allowed here.');
    case 413:
      return commonError(
        CommonErrorCode.PayloadTooLarge,
        'The request body exceeds the size limit.',
      );
    case 415:
      return commonError(
        CommonErrorCode.UnsupportedMediaType,
        'Send the body as application/json.',
      );
    case 401:
      return commonError(CommonErrorCode.Unauthenticated, 'Authentication is required.');
    case 400:
      // Fastify's body parser errors reach us wrapped by Nest's adapter.
      return /json/i.test(ex.message)
        ? commonError(CommonErrorCode.InvalidJson, 'The request body is not valid JSON.')
        : commonError(CommonErrorCode.BadRequest, ex.message);
    default: {
      const code = status >= 500 ? CommonErrorCode.InternalError : CommonErrorCode.BadRequest;
      return new AppException(
        code,
        status,
        ex.name,
        status >= 500 ? 'An unexpected error occurred.' : ex.message,
      );
    }
  }
}

export function renderProblem(
  ex: AppException,
  requestId: string | undefined,
  instance?: string,
): ProblemDocument {
  return {
    ...ex.extra,
    type: problemType(ex.code),
    title: ex.title,
    status: ex.status,
    detail: ex.detail,
    code: ex.code,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, ex: AppException): void {
  for (const [name, value] of Object.entries(ex.headers)) void reply.header(name, value);
  // RFC 9110 15.5.2: every 401 names the scheme to authenticate with.
  if (ex.status === 401 && !ex.headers['www-authenticate']) {
    void reply.header('www-authenticate', 'Bearer realm="quiver", error="invalid_token"');
  }
  const path = request.url.split('?')[0];
  void reply
    .status(ex.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(renderProblem(ex, String(request.id), path));
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    if (reply.sent) return;
    sendProblem(reply, request, toAppException(exception, this.logger));
  }
}
