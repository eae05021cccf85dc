import { AppException, defineErrors } from './app-exception';

const errors = defineErrors<'too_many' | 'broken'>({
  too_many: { status: 429, title: 'Too many requests' },
  broken: { status: 503, title: 'Unavailable' },
});

function frames(err: Error): string[] {
  return (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
}

describe('AppException', () => {
  it('carries what the problem filter renders', () => {
    const ex = errors('too_many', 'slow down', { retryAfterSeconds: 2 }, { 'Retry-After': '2' });
    expect(ex).toBeInstanceOf(Error);
    expect(ex).toMatchObject({
      name: 'AppException',
      code: 'too_many',
      status: 429,
      title: 'Too many requests',
      detail: 'slow down',
      message: 'slow down',
      extra: { retryAfterSeconds: 2 },
      headers: { 'Retry-After': '2' },
    });
  });

  it('records no stack trace for a client error, and a full one for a server error', () => {
    const client = errors('too_many', 'slow down');
    expect(frames(client)).toEqual([]);
    expect(client.stack).toContain('slow down');
    const server = errors('broken', 'try later');
    expect(frames(server).length).toBeGreaterThan(0);
  });

  it('leaves Error.stackTraceLimit as it found it', () => {
    const before = Error.stackTraceLimit;
    new AppException('x', 400, 'Bad', 'bad');
    expect(Error.stackTraceLimit).toBe(before);
    expect(frames(new Error('plain')).length).toBeGreaterThan(0);
  });
});
