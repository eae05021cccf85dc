import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { AppConfig } from '@app/config/app-config';
import { withTimeout } from '@libs/timeout';
import { TenantContext } from '@app/common/context/tenant-context';

/** A tenant job's payload always names its tenant; the runner restores the context from it. */
export interface TenantJobPayload {
  tenantId: string;
}

type Handler = (payload: Record<string, unknown>) => Promise<unknown>;

interface Registration {
  handler: Handler;
  tenantScoped: boolean;
}

export interface EnqueueOptions {
  /** Deduplicates: a job with the same id that is still waiting is not added again. */
  jobId?: string;
  delayMs?: number;
}

const QUEUE_NAME = 'jobs';
const ATTEMPTS = 5;

/**
 * The queue facade. With Redis, jobs go to BullMQ and only the worker process (src/worker.ts) runs
 * them. Without Redis, the same handlers run in-process. Handlers are registered by the modules that
 * own them; tenant-scoped handlers run inside TenantContext, so they read like request code.
 */
@Injectable()
export class JobsService implements OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private readonly handlers = new Map<string, Registration>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private queue?: Queue;
  private worker?: Worker;
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly context: TenantContext,
  ) {
    if (config.redisUrl) {
      this.queue = new Queue(QUEUE_NAME, {
        connection: { url: config.redisUrl, maxRetriesPerRequest: null },
        prefix: config.env.QUEUE_PREFIX,
        defaultJobOptions: {
          attempts: ATTEMPTS,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      });
      this.queue.on('error', (err) => this.logger.error({ err }, 'queue connection error'));
    }
  }

  get backend(): 'bullmq' | 'inline' {
    return this.queue ? 'bullmq' : 'inline';
  }

  register(name: string, handler: Handler, options: { tenantScoped: boolean }): void {
    if (this.handlers.has(name)) throw new Error(`job ${name} registered twice`);
    this.handlers.set(name, { handler, tenantScoped: options.tenantScoped });
  }

  async enqueue(
    name: string,
    payload: Record<string, unknown>,
    options: EnqueueOptions = {},
  ): Promise<void> {
    if (!this.handlers.has(name)) throw new Error(`no handler for job ${name}`);
    if (this.queue) {
      await this.queue.add(name, payload, { jobId: options.jobId, delay: options.delayMs });
      return;
    }
    const timer = setTimeout(
      () => this.track(this.runInline(name, payload, 1)),
      options.delayMs ?? 0,
    );
    timer.unref();
  }

  /** A job that runs every intervalMs: a BullMQ job scheduler, or a timer without Redis. */
  async every(name: string, intervalMs: number): Promise<void> {
    if (this.queue) {
      await this.queue.upsertJobScheduler(
        `every:${name}`,
        { every: intervalMs },
        { name, data: {} },
      );
      return;
    }
    const timer = setInterval(() => this.track(this.runInline(name, {}, ATTEMPTS)), intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Jobs in the queue by state; null when jobs run in-process (no queue to measure). */
  async jobCounts(): Promise<Record<string, number> | null> {
    if (!this.queue) return null;
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
  }

  /** Starts consuming the queue. Called by the worker entry point only. */
  startWorker(concurrency = 4): void {
    if (!this.config.redisUrl || this.worker) return;
    this.worker = new Worker(
      QUEUE_NAME,
      (job: Job) => this.execute(job.name, job.data as Record<string, unknown>),
      {
        connection: { url: this.config.redisUrl, maxRetriesPerRequest: null },
        prefix: this.config.env.QUEUE_PREFIX,
        concurrency,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ err, job: job?.name, attempt: job?.attemptsMade }, 'job attempt failed'),
    );
    this.worker.on('error', (err) => this.logger.error({ err }, 'worker connection error'));
  }

  /** Runs a job's handler now, in its tenant context. */
  async execute(name: string, payload: Record<string, unknown>): Promise<void> {
    const reg = this.handlers.get(name);
    if (!reg) throw new Error(`no handler for job ${name}`);
    if (!reg.tenantScoped) {
      await reg.handler(payload);
      return;
    }
    const tenantId = payload.tenantId;
    if (typeof tenantId !== 'string') throw new Error(`job ${name} has no tenantId in its payload`);
    await this.context.runAsTenantJob(tenantId, name, () => reg.handler(payload));
  }

  private async runInline(
    name: string,
    payload: Record<string, unknown>,
    attempt: number,
  ): Promise<void> {
    if (this.closing) return;
    try {
      await this.execute(name, payload);
    } catch (err) {
      this.logger.warn({ err, job: name, attempt }, 'job attempt failed');
      if (attempt < ATTEMPTS && !this.closing) {
        const timer = setTimeout(
          () => this.track(this.runInline(name, payload, attempt + 1)),
          1000 * 2 ** attempt,
        );
        timer.unref();
      }
    }
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.inflight]);
    // With Redis unreachable, BullMQ's close would wait for a reconnection that may never come.
    await withTimeout(this.worker?.close() ?? Promise.resolve(), 5000).catch(() =>
      this.worker?.disconnect(),
    );
    await withTimeout(this.queue?.close() ?? Promise.resolve(), 2000).catch(() =>
      this.queue?.disconnect(),
    );
  }
}
