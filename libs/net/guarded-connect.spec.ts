import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AddressNotAllowedError,
  addressRefusalIn,
  guardedFetch,
  resolveAllowed,
  type Resolver,
} from './guarded-connect';
import { AddressPolicy } from './public-address';

const closed = AddressPolicy.compile({ allowPrivate: false, allowedCidrs: [] });
const open = AddressPolicy.compile({ allowPrivate: true, allowedCidrs: [] });
const answers =
  (table: Record<string, string[]>): Resolver =>
  (host) =>
    Promise.resolve(
      (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );

describe('resolveAllowed', () => {
  it('refuses a name when any of its addresses is private', async () => {
    const resolve = answers({ 'idp.corp': ['8.8.8.8', '10.0.0.7'] });
    await expect(resolveAllowed('idp.corp', closed, resolve)).rejects.toMatchObject({
      name: 'AddressNotAllowedError',
      address: '10.0.0.7',
      range: 'private',
    });
  });

  it('accepts a name whose addresses are all public', async () => {
    const resolve = answers({ 'idp.corp': ['8.8.8.8', '2606:4700:4700::1111'] });
    await expect(resolveAllowed('idp.corp', closed, resolve)).resolves.toHaveLength(2);
  });

  it('checks IP literals without asking DNS, brackets and mapped forms included', async () => {
    const resolve = jest.fn<ReturnType<Resolver>, Parameters<Resolver>>();
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '169.254.169.254'])
      await expect(resolveAllowed(host, closed, resolve)).rejects.toBeInstanceOf(
        AddressNotAllowedError,
      );
    expect(resolve).not.toHaveBeenCalled();
  });

  it('never sends reserved example/invalid names to DNS', async () => {
    const resolve = jest.fn<ReturnType<Resolver>, Parameters<Resolver>>();
    await expect(resolveAllowed('idp.example', closed, resolve)).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    expect(resolve).not.toHaveBeenCalled();
  });

  it('finds the refusal through wrapping errors', () => {
    const refusal = new AddressNotAllowedError('h', '10.0.0.1', 'private');
    expect(addressRefusalIn(new Error('outer', { cause: refusal }))).toBe(refusal);
    expect(addressRefusalIn(new Error('other'))).toBeUndefined();
  });
});

describe('guardedFetch', () => {
  let server: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, host: req.headers.host, body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('connects to the checked address, keeping the name in the request', async () => {
    const resolve = answers({ 'idp.internal': ['127.0.0.1'] });
    const fetch = guardedFetch(() => open, resolve);
    const res = await fetch(`http://idp.internal:${port}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ a: '1' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      method: 'POST',
      host: `idp.internal:${port}`,
      body: 'a=1',
    });
  });

  it('refuses before connecting when the policy refuses the address', async () => {
    const before = hits;
    const fetch = guardedFetch(() => closed, answers({ localhost: ['127.0.0.1'] }));
    await expect(
      fetch(`http://localhost:${port}/.well-known/openid-configuration`, {
        method: 'GET',
        headers: {},
      }),
    ).rejects.toBeInstanceOf(AddressNotAllowedError);
    await expect(
      fetch(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {} }),
    ).rejects.toBeInstanceOf(AddressNotAllowedError);
    expect(hits).toBe(before);
  });
});
