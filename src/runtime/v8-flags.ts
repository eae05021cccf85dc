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
