import type { HttpResponse } from './harness';

const PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail', 'code', 'requestId'] as const;

/** Signs that internals leaked into a response body: a stack frame or an Error's toString. */
const LEAK_PATTERNS = [/Error:/, /\bat \S+ \(/, /\.ts:\d+/, /\.js:\d+/, /node_modules/];

/**
 * Asserts an RFC 9457 problem response as Quiver renders it: status, stable code, every member, the
 * problem content type, x-request-id equal to body.requestId, and nothing that looks like internals.
 */
export function expectProblem(res: HttpResponse, status: number, code: string): void {
  const summary = `${res.status} ${JSON.stringify(res.body)}`;
  expect({ status: res.status, code: res.body?.code, summary }).toEqual({ status, code, summary });
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/problem\+json\b/);
  expect(typeof res.body).toBe('object');
  for (const member of PROBLEM_MEMBERS) expect(res.body).toHaveProperty(member);
  expect(res.body.type).toBe(`https://quiver.dev/problems/${code}`);
  expect(res.body.status).toBe(status);
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.title.length).toBeGreaterThan(0);
  expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
  expect(res.body).not.toHaveProperty('stack');
  const text = JSON.stringify(res.body);
  for (const pattern of LEAK_PATTERNS) expect(text).not.toMatch(pattern);
}
