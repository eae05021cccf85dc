import type { LoadMeasurement } from './results-schema';

/** One HTTP request shape; the load generator picks one at random per request. */
export interface HttpTarget {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /**
   * Sign every request anew (RFC 9421, libs/http-signatures signRequest): the server refuses a
   * signature it has seen, so each request needs its own `created` and nonce. Bodiless requests are
   * signed ahead of each phase (outside the measured window); others as they are sent.
   */
  sign?: { keyId: string; secret: string };
}

/** Drive the API with autocannon: a warm-up run (discarded), then the measured run. */
export interface HttpTask {
  kind: 'http';
  label: string;
  /** Origin, e.g. http://127.0.0.1:3100 */
  origin: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  targets: HttpTarget[];
  /** Request bodies; one is picked at random per request (none for GET). */
  bodies: string[];
  seed: number;
  /** Warm up with this many requests instead of warmupSeconds (a warm-up sized to the data). */
  warmupRequests?: number;
  /** Send every measured latency back too (for rows measured in interleaved slices). */
  keepLatencies?: boolean;
}

/** A parameter of a raw SQL step: a value, or a random query vector literal from the task's pool. */
export type SqlParam = string | number | { fromVectorPool: true };

export interface SqlStep {
  text: string;
  params?: SqlParam[];
}

/**
 * Drive PostgreSQL directly with a pg Pool of `concurrency` connections and as many loops, each
 * running the steps as one transaction per iteration (the steps include BEGIN and COMMIT).
 */
export interface SqlTask {
  kind: 'sql';
  label: string;
  connectionString: string;
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
  steps: SqlStep[];
  vectorPool: string[];
  seed: number;
  /** Send every measured latency back too (for rows measured in interleaved slices). */
  keepLatencies?: boolean;
}

export type LoadTask = HttpTask | SqlTask;

export type ParentMessage = { id: number; task: LoadTask } | { id: number; shutdown: true };

export type ChildMessage =
  | { ready: true }
  /** Sent when the warm-up is over and the measured window starts. */
  | { id: number; measuring: true }
  | { id: number; ok: true; result: LoadMeasurement; firstError?: string; latencies?: number[] }
  | { id: number; ok: false; error: string };
