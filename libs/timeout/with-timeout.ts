/**
 * Settles like `promise`, or rejects with `onTimeout(ms)` (by default an Error saying so) if it has
 * not settled after `ms`; a later settlement is then ignored. One timer, cleared as soon as the
 * promise settles, so a fast call leaves nothing behind.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: (ms: number) => Error = (after) => new Error(`timed out after ${after} ms`),
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
