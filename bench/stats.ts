import type { ErrorCounts, Latency, LoadMeasurement } from './results-schema';

/** Collects per-request latencies (ms, full resolution) and turns them into a Measurement. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private length = 0;

  record(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  /** The recorded latencies, in recording order. */
  all(): number[] {
    return Array.from(this.values.subarray(0, this.length));
  }

  latency(): Latency {
    const sorted = this.values.slice(0, this.length).sort();
    return {
      p50: round3(percentile(sorted, 50)),
      p95: round3(percentile(sorted, 95)),
      p99: round3(percentile(sorted, 99)),
    };
  }

  measurement(
    durationSeconds: number,
    errors: Omit<ErrorCounts, 'total'>,
    statusCodes: Record<string, number>,
  ): LoadMeasurement {
    return {
      requests: this.length,
      durationSeconds: round3(durationSeconds),
      requestsPerSecond: Math.round((this.length / durationSeconds) * 10) / 10,
      latencyMs: this.latency(),
      errors: { ...errors, total: errors.non2xx + errors.socket + errors.sql },
      statusCodes,
    };
  }
}

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
