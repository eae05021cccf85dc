import type { FastifyRequest } from 'fastify';
import { AppConfig } from '@app/config/app-config';
import { RequestOrigin } from './request-origin';

function origin(trustedProxies = ''): RequestOrigin {
  return new RequestOrigin(AppConfig.fromEnvironment({ TRUSTED_PROXIES: trustedProxies }));
}

/** A request on `socket` (shared between requests of one keep-alive connection). */
function request(
  socket: { remoteAddress?: string },
  forwardedFor?: string,
  extra: Record<string, string> = {},
): FastifyRequest {
  return {
    raw: { socket, url: '/v1/collections?x=1' },
    headers: {
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
      ...extra,
    },
  } as unknown as FastifyRequest;
}

describe('RequestOrigin.clientAddress', () => {
  it('is the socket peer for every request of a connection from an untrusted peer, whatever X-Forwarded-For says', () => {
    const o = origin('10.0.0.1');
    const socket = { remoteAddress: '::ffff:198.51.100.7' };
    expect(o.clientAddress(request(socket))).toBe('198.51.100.7');
    expect(o.clientAddress(request(socket, '203.0.113.9'))).toBe('198.51.100.7');
    expect(o.clientAddress(request(socket, '127.0.0.1, 10.0.0.1'))).toBe('198.51.100.7');
  });

  it("walks each request's own X-Forwarded-For on a connection from a trusted proxy", () => {
    const o = origin('10.0.0.1');
    const socket = { remoteAddress: '10.0.0.1' };
    expect(o.clientAddress(request(socket, '203.0.113.9'))).toBe('203.0.113.9');
    expect(o.clientAddress(request(socket, '198.51.100.7'))).toBe('198.51.100.7');
    expect(o.clientAddress(request(socket))).toBe('10.0.0.1');
  });

  it('keeps connections apart', () => {
    const o = origin();
    const a = { remoteAddress: '192.0.2.1' };
    const b = { remoteAddress: '2001:db8::1' };
    expect(o.clientAddress(request(a))).toBe('192.0.2.1');
    expect(o.clientAddress(request(b))).toBe('2001:db8::1');
    expect(o.clientAddress(request(a))).toBe('192.0.2.1');
  });

  it('remembers nothing for a socket that has no address (closed), and answers from what it has', () => {
    const o = origin();
    const socket: { remoteAddress?: string } = {};
    expect(o.clientAddress(request(socket, '203.0.113.9'))).toBe('');
    socket.remoteAddress = '192.0.2.1';
    expect(o.clientAddress(request(socket))).toBe('192.0.2.1');
  });
});

describe('RequestOrigin.targetUri', () => {
  const forwarded = {
    host: 'internal:3000',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'api.example.com',
  };

  it("takes scheme and host from a trusted proxy's X-Forwarded-* headers, on every request of its connection", () => {
    const o = origin('10.0.0.1');
    const socket = { remoteAddress: '10.0.0.1' };
    expect(o.clientAddress(request(socket, '203.0.113.9'))).toBe('203.0.113.9');
    expect(o.targetUri(request(socket, undefined, forwarded))).toBe(
      'https://api.example.com/v1/collections?x=1',
    );
    expect(o.targetUri(request(socket, undefined, { host: 'internal:3000' }))).toBe(
      'http://internal:3000/v1/collections?x=1',
    );
  });

  it('ignores X-Forwarded-* from an untrusted peer, before and after its address was looked at', () => {
    const o = origin('10.0.0.1');
    const socket = { remoteAddress: '198.51.100.7' };
    expect(o.targetUri(request(socket, undefined, forwarded))).toBe(
      'http://internal:3000/v1/collections?x=1',
    );
    expect(o.clientAddress(request(socket, '203.0.113.9'))).toBe('198.51.100.7');
    expect(o.targetUri(request(socket, undefined, forwarded))).toBe(
      'http://internal:3000/v1/collections?x=1',
    );
  });
});
