import { Logger as NestLogger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { acceptSamlForms } from './auth/saml/saml-form-parser';
import { TenantContext } from './common/context/tenant-context';
import { ProblemFilter, sendProblem, toAppException } from './common/errors/problem.filter';
import { AppValidationPipe } from './common/validation/app-validation.pipe';
import { AppConfig } from './config/app-config';
import { MetricsService } from './metrics/metrics.service';
import { UsageRecorder } from './quotas/usage-recorder';
import { registerRequestLog } from './common/http/request-log';
import {
  API_HELMET_OPTIONS,
  DOCS_HELMET_OPTIONS,
  isDocsPath,
  securityHeaders,
} from './common/http/security-headers';
import {
  API_KEY_HEADER_SCHEME,
  API_KEY_SCHEME,
  PLATFORM_SCHEME,
} from './gateway/access.decorators';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller's X-Request-Id when it is safe to echo and log, else makes one. */
function requestId(raw: IncomingMessage): string {
  const incoming = raw.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
  (raw as IncomingMessage & { id?: string }).id = id;
  return id;
}

export function openApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Quiver')
    .setDescription(
      'Multi-tenant vector database. Data plane and tenant admin endpoints take an API key ' +
        '(`Authorization: Bearer qvr_...` or `X-API-Key`); platform endpoints under /v1/admin take a platform ' +
        'admin token (`qvp_...`). Errors are RFC 9457 problem+json documents with a stable `code`.',
    )
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'API key: qvr_<env>_...' },
      API_KEY_SCHEME,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key: qvr_<env>_...' },
      API_KEY_HEADER_SCHEME,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Platform admin token: qvp_<env>_...' },
      PLATFORM_SCHEME,
    )
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Builds the HTTP application (not yet listening). main.ts and the e2e tests both use it. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const frameworkLogger = new NestLogger('Fastify');
  const adapter = new FastifyAdapter({
    bodyLimit: config.env.BODY_LIMIT_BYTES,
    genReqId: requestId,
    trustProxy: false,
    logger: false,
    // Errors Fastify raises before routing (a malformed URL, an over-long path parameter) become
    // problem documents too.
    frameworkErrors: (err: Error, req: FastifyRequest, reply: FastifyReply) => {
      void reply.header('x-request-id', req.id);
      sendProblem(reply, req, toAppException(err, frameworkLogger));
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
    // Content-Digest (RFC 9530) is checked against the bytes as received, not re-serialised JSON.
    rawBody: true,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();

  const fastify = app.getHttpAdapter().getInstance();
  // Helmet's headers are the same for every response of a kind: computed once, sent with the request
  // id from one hook (security-headers.ts). The API's are strict; Swagger UI's page needs its own.
  const apiHeaders = securityHeaders(API_HELMET_OPTIONS);
  const docsHeaders = securityHeaders(DOCS_HELMET_OPTIONS);
  const context = app.get(TenantContext);
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply
      .headers(isDocsPath(req.url) ? docsHeaders : apiHeaders)
      .header('x-request-id', req.id);
    done();
  });
  if (config.env.LOG_REQUESTS) registerRequestLog(fastify);
  // The request's AsyncLocalStorage context starts after the body is parsed, so everything from the
  // guards to the handler (and what it awaits) runs inside it.
  fastify.addHook('preHandler', (req, _reply, done) => {
    context.run({ requestId: String(req.id) }, done);
  });

  app.get(MetricsService).observe(fastify);
  app.get(UsageRecorder).observe(fastify);

  app.setGlobalPrefix('v1', {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalFilters(new ProblemFilter());
  app.useGlobalPipes(new AppValidationPipe());
  app.enableShutdownHooks();

  SwaggerModule.setup('docs', app, () => openApiDocument(app), {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    useGlobalPrefix: false,
  });
  await app.init();
  // The API speaks JSON only. Fastify parses text/plain and Nest's adapter urlencoded forms by
  // default; without a parser such bodies get 415. The SAML ACS is the one route that takes a form,
  // and its parser answers every other route with the same 415.
  fastify.removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']);
  acceptSamlForms(fastify);
  return app;
}
