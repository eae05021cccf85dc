import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Helmet's response headers, computed once. @fastify/helmet called `helmet(options)` on every
 * request, re-validating and re-serialising the Content-Security-Policy each time (about a tenth of
 * a bare request's CPU here). None of our options depends on the request (no CSP nonces), so the
 * headers are the same for every response: run helmet once against a recording response and send
 * the result from one onRequest hook.
 */
export function securityHeaders(
  options: Readonly<HelmetOptions>,
): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]): void {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string): void {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    failure = err;
  });
  if (failure) throw failure instanceof Error ? failure : new Error('helmet refused the options');
  return Object.freeze(headers);
}

/**
 * What the API sends (everything but /docs): its answers are JSON, never rendered as a page, so the
 * policy forbids every kind of content and every framing (OWASP REST Security cheat sheet), and
 * helmet's headers that only mean something to an HTML document (opener policy, origin-agent
 * cluster, DNS prefetch, IE's download and XSS-filter switches, Flash's cross-domain policies) are
 * not sent. Kept: HSTS, nosniff, no referrer and a same-origin resource policy.
 */
export const API_HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  frameguard: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/** The policy of Swagger UI at /docs, a page: it needs inline styles and scripts and data: images. */
export const DOCS_HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
    },
  },
};

/** Swagger UI's page and assets: `/docs`, `/docs/...`, with or without a query. */
export function isDocsPath(url: string): boolean {
  if (!url.startsWith('/docs')) return false;
  const next = url.charCodeAt(5);
  return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f; /* ? */
}
