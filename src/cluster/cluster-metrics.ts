import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { isMessage } from './ipc-message';

const REQUEST = 'quiver:metrics-request';
const RESPONSE = 'quiver:metrics-response';
const TIMEOUT_MS = 5_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

/**
 * In the primary: answers a worker's request for the metrics of every worker, summed by prom-client's
 * AggregatorRegistry (which asks each worker over IPC). A scrape lands on one worker; it answers for
 * the whole server.
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id: message.id, text } satisfies MetricsResponse),
      (err: unknown) =>
        worker.send({
          type: RESPONSE,
          id: message.id,
          error: err instanceof Error ? err.message : String(err),
        } satisfies MetricsResponse),
    );
  });
}

let nextId = 0;

/** In a worker: offers these registries to the primary's aggregation. */
export function joinClusterMetrics(registries: Registry[]): void {
  // Constructing one installs prom-client's worker-side listener.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(registries);
}

/** In a worker: the metrics of every worker of this server, from the primary. */
export function clusterMetrics(): Promise<string> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isMessage<MetricsResponse>(message, RESPONSE) || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the primary process did not answer the metrics request'));
    }, TIMEOUT_MS);
    process.on('message', onMessage);
    process.send!({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
