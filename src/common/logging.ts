import type { IncomingMessage } from 'node:http';
import type { ClsService } from 'nestjs-cls';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '@app/config/app-config';
import type { RequestStore } from './context/principal';

/** Where the authentication guard leaves the tenant for the request's completion log line. */
export const TENANT_ON_RAW_REQUEST = Symbol('quiver.tenantId');

type RawRequest = IncomingMessage & { id?: string; [TENANT_ON_RAW_REQUEST]?: string };

/**
 * nestjs-pino settings. Every line logged inside a request carries its request id and tenant id:
 * the mixin reads them from the request's AsyncLocalStorage context, and the completion line
 * (request-log.ts, a Fastify onResponse hook) gets them from the request. Credentials are redacted.
 *
 * nestjs-pino's pino-http middleware is not mounted (`forRoutes: []`): through Nest's middleware
 * layer (middie) it made a child logger and an AsyncLocalStorage scope per request, 40% of a bare
 * request's CPU, for what the mixin and one hook already give. pino-http still builds the root logger.
 */
export function loggerParams(config: AppConfig, cls: ClsService<RequestStore>): Params {
  return {
    forRoutes: [],
    pinoHttp: {
      level: config.env.LOG_LEVEL,
      autoLogging: false,
      // Adds what the line's logger is not already bound to, so no key appears twice.
      mixin: (_merge: object, _level: number, logger?: { bindings(): Record<string, unknown> }) => {
        if (!cls.isActive()) return {};
        const store = cls.get();
        const bound = logger?.bindings() ?? {};
        const extra: Record<string, string> = {};
        if (store?.requestId && bound.requestId === undefined) extra.requestId = store.requestId;
        if (store?.tenantId && bound.tenantId === undefined) extra.tenantId = store.tenantId;
        return extra;
      },
      serializers: {
        req: (req: { id?: string; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        // pino-http runs this on the output of pino's standard serializer, which reports
        // `statusCode: null` for anything that is not a sent ServerResponse (the request log passes a
        // plain object): the status is read from what was logged, kept as `raw`.
        res: (res: { statusCode?: number | null; raw?: { statusCode?: number } }) => ({
          statusCode: res.raw?.statusCode ?? res.statusCode,
        }),
      },
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
        remove: true,
      },
      transport:
        config.env.NODE_ENV === 'development' && process.stdout.isTTY
          ? { target: 'pino-pretty', options: { singleLine: true } }
          : undefined,
    },
  };
}

export function rememberTenantForLog(raw: IncomingMessage, tenantId: string): void {
  (raw as RawRequest)[TENANT_ON_RAW_REQUEST] = tenantId;
}

export function tenantForLog(raw: IncomingMessage): string | undefined {
  return (raw as RawRequest)[TENANT_ON_RAW_REQUEST];
}
