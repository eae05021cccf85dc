import v8 from 'node:v8';

/**
 * V8 flags every Quiver process sets on itself, first thing, however it was started (`npm start`,
 * `node dist/src/main.js`, the Docker image, a cluster worker). Decision 73.
 *
 * `--no-allocation-site-pretenuring`: on Node 20.20.2 (V8 11.3) an api process under a few hundred
 * requests in flight, then a many-tenant search mix, wedged for good inside a mark-compact GC
 * (`Heap::ProcessAllWeakReferences` -> `VisitWeakList<AllocationSite>`), 4 times out of 4. V8 only
 * acts on pretenuring feedback once the young generation has grown to its maximum size, which is
 * what hundreds of requests in flight do. With the flag off V8 skips that feedback entirely
 * (checked at every GC, so setting it at run time takes effect from the next one).
 */
export const V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Sets V8_FLAGS on this process's isolate. Idempotent; call it before the app is created. */
export function applyV8Flags(): void {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag);
}

/**
 * Flags the api's node must be STARTED with: V8 sizes its heap when the isolate is created, so
 * setting these at run time does nothing, and node refuses them in NODE_OPTIONS. `npm start`, the
 * Docker image and the bench pass them; the cluster primary passes them to its workers
 * (`workerExecArgv`). Decision 95.
 *
 * `--min-semi-space-size=16`: the young generation starts at its usual maximum (two 16 MiB
 * semi-spaces) instead of 1 MiB, where a lightly loaded api stays, because V8 grows it only when
 * much survives a scavenge. At 1 MiB a scavenge ran every ~220 requests at 1 in flight, each
 * pausing the request in flight for about a millisecond on a 2-core machine: enough to reach p99.
 * Costs about 30 MiB of memory per api process.
 */
export const STARTUP_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16'];

/** A V8 flag's name as node reads it: leading dashes dropped, '_' and '-' the same, no value. */
function flagName(arg: string): string {
  return arg.replace(/^--?/, '').split('=')[0].replace(/_/g, '-');
}

/**
 * The flags a cluster worker starts with: the primary's own, plus each of STARTUP_NODE_FLAGS the
 * primary was not given in any form (a value given on the command line, e.g. a smaller young
 * generation, is kept and passed on).
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map(flagName));
  return [...execArgv, ...STARTUP_NODE_FLAGS.filter((f) => !given.has(flagName(f)))];
}

/** STARTUP_NODE_FLAGS this process was started without (none given in any form). */
export function missingStartupFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return workerExecArgv(execArgv).slice(execArgv.length);
}
