import { signRequest, type SignRequestOptions } from '@libs/http-signatures';
import type { HttpResponse, TestApp } from './harness';

export interface SignedCall {
  method: string;
  path: string;
  body?: unknown;
  /** Applied after signing: how an attacker would change the request in flight. */
  tamper?: { method?: string; path?: string; body?: string; headers?: Record<string, string> };
  sign?: Partial<Omit<SignRequestOptions, 'secret' | 'keyId'>>;
  /** The public origin a load balancer forwards for, e.g. 'https://api.quiver.test' (sent as X-Forwarded-*). */
  publicOrigin?: string;
}

/** Signs a request with libs/http-signatures (the client helper we ship) and sends it. */
export async function signedRequest(
  api: TestApp,
  apiKey: string,
  keyId: string,
  signingSecret: string,
  call: SignedCall,
): Promise<HttpResponse & { sent: Record<string, string> }> {
  const body = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  if (body) headers['content-type'] = 'application/json';
  if (call.publicOrigin) {
    const origin = new URL(call.publicOrigin);
    headers['x-forwarded-proto'] = origin.protocol.replace(':', '');
    headers['x-forwarded-host'] = origin.host;
  }
  const signed = signRequest(
    {
      method: call.method,
      targetUri: `${call.publicOrigin ?? api.baseUrl}${call.path}`,
      headers,
      body,
    },
    { keyId, secret: Buffer.from(signingSecret, 'utf8'), ...(call.sign ?? {}) },
  );
  const sent = { ...headers, ...signed, ...(call.tamper?.headers ?? {}) };
  const res = await fetch(`${api.baseUrl}${call.tamper?.path ?? call.path}`, {
    method: call.tamper?.method ?? call.method,
    headers: sent,
    body: call.tamper?.body ?? body,
  });
  const text = await res.text();
  const parsed: unknown =
    text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body: parsed, sent };
}
