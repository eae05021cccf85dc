import { Rng } from './prng';

export interface ClusterModel {
  dimension: number;
  clusters: number;
  /** Standard deviation of a point around its cluster centre, per dimension (centres are N(0, 1)). */
  spread: number;
}

export interface BenchVector {
  id: string;
  values: number[];
  metadata: { cluster: number };
}

/**
 * Synthetic embeddings: `clusters` gaussian clusters with centres drawn from N(0, 1) per dimension and
 * points at centre + N(0, spread^2). Values are rounded to 4 decimals so request bodies stay small
 * and the API and the raw-SQL baseline see exactly the same numbers.
 */
export class ClusteredData {
  private readonly centres: Float64Array[];

  constructor(
    readonly model: ClusterModel,
    seed: number,
  ) {
    const rng = new Rng(seed);
    this.centres = Array.from({ length: model.clusters }, () => {
      const c = new Float64Array(model.dimension);
      for (let d = 0; d < model.dimension; d++) c[d] = rng.gaussian();
      return c;
    });
  }

  /** One point from a random cluster, drawn with the caller's generator. */
  sample(rng: Rng): { cluster: number; values: number[] } {
    const cluster = rng.int(this.centres.length);
    const centre = this.centres[cluster];
    const values = new Array<number>(this.model.dimension);
    for (let d = 0; d < values.length; d++) {
      values[d] = Math.round((centre[d] + this.model.spread * rng.gaussian()) * 1e4) / 1e4;
    }
    return { cluster, values };
  }

  /** `count` vectors with ids `${prefix}${i}`, in a fixed order for a given generator. */
  vectors(rng: Rng, count: number, prefix: string, firstIndex = 0): BenchVector[] {
    return Array.from({ length: count }, (_, i) => {
      const { cluster, values } = this.sample(rng);
      return { id: `${prefix}${firstIndex + i}`, values, metadata: { cluster } };
    });
  }

  /** Query vectors: held-out samples from the same clusters. */
  queries(rng: Rng, count: number): number[][] {
    return Array.from({ length: count }, () => this.sample(rng).values);
  }
}
