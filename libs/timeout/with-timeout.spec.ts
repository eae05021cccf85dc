import { withTimeout } from './with-timeout';

describe('withTimeout', () => {
  it('resolves with the value of a promise that settles in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000)).resolves.toBe(42);
  });

  it('rejects with the error of a promise that fails in time', async () => {
    const err = new Error('boom');
    await expect(withTimeout(Promise.reject(err), 1000)).rejects.toBe(err);
  });

  it('rejects with a timeout error when the promise is too slow, and ignores its late value', async () => {
    let late: (v: string) => void = () => undefined;
    const slow = new Promise<string>((resolve) => (late = resolve));
    const raced = withTimeout(slow, 20);
    await expect(raced).rejects.toThrow('timed out after 20 ms');
    late('too late');
    await expect(raced).rejects.toThrow('timed out after 20 ms');
  });

  it('uses the given error factory on timeout', async () => {
    class Slow extends Error {}
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(never, 10, (ms) => new Slow(`slow ${ms}`))).rejects.toBeInstanceOf(
      Slow,
    );
  });

  it('clears its timer when the promise settles first (no pending timer keeps the process up)', async () => {
    jest.useFakeTimers();
    try {
      const p = withTimeout(Promise.resolve('fast'), 60_000);
      await expect(p).resolves.toBe('fast');
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
