import { Injectable, Logger } from '@nestjs/common';
import cluster from 'node:cluster';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register, Registry } from 'prom-client';
import { TENANT_ON_RAW_REQUEST } from '@app/common/logging';
import { clusterMetrics, joinClusterMetrics } from '@app/cluster/cluster-metrics';
import { AppConfig } from '@app/config/app-config';
import { JobsService } from '@app/jobs/jobs.service';

type RequestLabels = 'method' | 'route' | 'status' | 'tenant';

/**
 * Prometheus metrics (prom-client), one registry per application instance. Labels are bounded:
 * routes are Fastify's route patterns (`/v1/collections/:collection/vectors`), never the URL, so no
 * collection name, key id or vector id becomes a label; the tenant is a label only when
 * METRICS_TENANT_LABELS allows it, for that many tenants at most (the rest count as "other").
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private readonly requests: Counter<RequestLabels>;
  private readonly latency: Histogram<'method' | 'route' | 'status_class'>;
  private readonly quotaRejections: Counter<'resource'>;
  private readonly tenantLabels = new Set<string>();
  private readonly maxTenantLabels: number;
  private readonly inCluster = cluster.isWorker;

  constructor(config: AppConfig, jobs: JobsService) {
    this.maxTenantLabels = config.env.METRICS_TENANT_LABELS;
    collectDefaultMetrics({ register: this.registry, prefix: 'quiver_' });
    if (this.inCluster) joinClusterMetrics([this.registry, register]);
    this.requests = new Counter({
      name: 'quiver_http_requests_total',
      help: 'HTTP requests by route pattern, method and status code (and tenant, when enabled)',
      labelNames:
        this.maxTenantLabels > 0
          ? ['method', 'route', 'status', 'tenant']
          : ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'quiver_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern, method and status class',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.quotaRejections = new Counter({
      name: 'quiver_quota_rejections_total',
      help: 'Writes refused with quota_exceeded, by resource',
      labelNames: ['resource'],
      registers: [this.registry],
    });
    const logger = this.logger;
    new Gauge({
      name: 'quiver_queue_jobs',
      help: 'Jobs in the BullMQ queue by state (absent when jobs run in-process)',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        try {
          const counts = await jobs.jobCounts();
          for (const [state, n] of Object.entries(counts ?? {})) this.set({ state }, n);
        } catch (err) {
          // A scrape must not fail because Redis is away; the gauge keeps its last values.
          logger.warn({ err }, 'could not read queue depths');
        }
      },
    });
  }

  /** Records every response; called from a Fastify onResponse hook, off the request's path. */
  observe(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (req, reply, done) => {
      this.record(req, reply);
      done();
    });
  }

  quotaRejected(resource: string): void {
    this.quotaRejections.inc({ resource });
  }

  /**
   * This app's metrics, plus those other modules keep in prom-client's default registry. Under
   * API_PROCESSES > 1, those of every worker of the server, summed by the primary.
   */
  metrics(): Promise<string> {
    if (this.inCluster) return clusterMetrics();
    return Registry.merge([this.registry, register]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private record(req: FastifyRequest, reply: FastifyReply): void {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const labels: Partial<Record<RequestLabels, string>> = {
      method: req.method,
      route,
      status: String(status),
    };
    if (this.maxTenantLabels > 0) labels.tenant = this.tenantLabel(req);
    this.requests.inc(labels);
    this.latency.observe(
      { method: req.method, route, status_class: `${Math.floor(status / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  }

  private tenantLabel(req: FastifyRequest): string {
    const tenantId = (req.raw as unknown as Record<symbol, string | undefined>)[
      TENANT_ON_RAW_REQUEST
    ];
    if (!tenantId) return 'none';
    if (this.tenantLabels.has(tenantId)) return tenantId;
    if (this.tenantLabels.size < this.maxTenantLabels) {
      this.tenantLabels.add(tenantId);
      return tenantId;
    }
    return 'other';
  }
}
