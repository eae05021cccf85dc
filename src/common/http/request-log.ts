import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { tenantForLog } from '@app/common/logging';

/**
 * One line per finished request ("request completed", as pino-http wrote it), from a Fastify
 * onResponse hook on the root logger: request id, tenant id (set by the authentication guard),
 * method, url, status and response time. Not registered at all when LOG_REQUESTS=false.
 */
export function registerRequestLog(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', (req, reply, done) => {
    const logger = PinoLogger.root;
    if (logger) {
      const statusCode = reply.statusCode;
      const tenantId = tenantForLog(req.raw);
      const line = {
        requestId: String(req.id),
        ...(tenantId ? { tenantId } : {}),
        req: { id: String(req.id), method: req.method, url: req.url },
        res: { statusCode },
        responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
      };
      if (statusCode >= 500) logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    }
    done();
  });
}
