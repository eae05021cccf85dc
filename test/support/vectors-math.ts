/**
 * Brute-force reference for vector search, computed in the test process. pgvector stores float4, so
 * every input goes through Math.fround before it is sent; the reference then works in doubles on
 * exactly the values the database holds.
 */

import { seededRandom } from '@libs/prng';

export type Metric = 'cosine' | 'l2' | 'dot';

/** A seeded PRNG, so every run sees the same data. */
export const prng = seededRandom;

/** A vector of float4-exact values in [-1, 1). */
export function randomVector(rand: () => number, dimension: number): number[] {
  return Array.from({ length: dimension }, () => Math.fround(rand() * 2 - 1));
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The score Quiver reports (see toScore in vectors.service.ts). */
export function score(metric: Metric, stored: readonly number[], query: readonly number[]): number {
  switch (metric) {
    case 'cosine':
      return dot(stored, query) / Math.sqrt(dot(stored, stored) * dot(query, query));
    case 'dot':
      return dot(stored, query);
    case 'l2': {
      let s = 0;
      for (let i = 0; i < stored.length; i++) s += (stored[i] - query[i]) ** 2;
      return Math.sqrt(s);
    }
  }
}

/** l2 is a distance (lower is closer); cosine and dot are similarities (higher is closer). */
export function closerFirst(metric: Metric): (a: number, b: number) => number {
  return metric === 'l2' ? (a, b) => a - b : (a, b) => b - a;
}

export interface Ranked {
  id: string;
  score: number;
}

export function bruteForceTopK(
  metric: Metric,
  rows: ReadonlyArray<{ id: string; values: readonly number[] }>,
  query: readonly number[],
  topK: number,
): Ranked[] {
  const cmp = closerFirst(metric);
  return rows
    .map((r) => ({ id: r.id, score: score(metric, r.values, query) }))
    .sort((a, b) => cmp(a.score, b.score) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, topK);
}

/**
 * Compares a result list with the brute-force one: same ids in the same order and every score within
 * `tolerance`. pgvector accumulates in float4, so two candidates whose reference scores are closer than
 * `tieEpsilon` may legitimately come back in either order; only inside such a tie group is the order
 * free, and the group must still hold the same ids.
 */
export function rankingMismatches(
  actual: ReadonlyArray<Ranked>,
  expected: ReadonlyArray<Ranked>,
  tolerance = 1e-4,
  tieEpsilon = 1e-6,
): string[] {
  const problems: string[] = [];
  if (actual.length !== expected.length) {
    problems.push(`expected ${expected.length} matches, got ${actual.length}`);
    return problems;
  }
  let i = 0;
  while (i < expected.length) {
    let j = i + 1;
    while (j < expected.length && Math.abs(expected[j].score - expected[j - 1].score) < tieEpsilon)
      j++;
    const want = expected.slice(i, j);
    const got = actual.slice(i, j);
    const wantIds = want.map((m) => m.id).sort();
    const gotIds = got.map((m) => m.id).sort();
    if (wantIds.join('\u0001') !== gotIds.join('\u0001')) {
      problems.push(
        `rank ${i}: expected ${want.map((m) => m.id).join(',')}, got ${got.map((m) => m.id).join(',')}`,
      );
    }
    for (let k = i; k < j; k++) {
      if (!(Math.abs(actual[k].score - expected[k].score) <= tolerance)) {
        problems.push(
          `rank ${k} (${actual[k].id}): score ${actual[k].score}, expected ${expected[k].score}`,
        );
      }
    }
    i = j;
  }
  return problems;
}
