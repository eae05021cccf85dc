import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientAddress, IpAllowlist } from '@libs/net';
import { AppConfig } from '@app/config/app-config';

/** On a connection: its client address when the peer is not a trusted proxy, else null. */
const PEER_CLIENT = Symbol('quiver.peerClient');

/**
 * Where a request came from and what URI it was sent to, as far as this server can tell: the socket,
 * and the X-Forwarded-* headers only when the direct peer is one of TRUSTED_PROXIES.
 */
@Injectable()
export class RequestOrigin {
  private readonly trustedProxies: IpAllowlist | undefined;

  constructor(config: AppConfig) {
    const proxies = config.env.TRUSTED_PROXIES;
    this.trustedProxies = proxies.length ? IpAllowlist.compile(proxies) : undefined;
  }

  clientAddress(req: FastifyRequest): string {
    const socket = req.raw.socket as Socket & { [PEER_CLIENT]?: string | null };
    const forwarded = () =>
      clientAddress(socket.remoteAddress, req.headers['x-forwarded-for'], this.trustedProxies);
    // A peer that is not a trusted proxy is the client of every request on its connection: parsed
    // once per connection. Behind a trusted proxy, each request's X-Forwarded-For is walked.
    let peer = socket[PEER_CLIENT];
    if (peer === undefined) {
      const address = socket.remoteAddress;
      if (!address) return forwarded(); // a closed socket: nothing to remember
      peer = this.trustedProxies?.allows(address)
        ? null
        : clientAddress(address, undefined, undefined);
      socket[PEER_CLIENT] = peer;
    }
    return peer ?? forwarded();
  }

  /** The absolute URI the client addressed, as RFC 9421's @target-uri needs it. */
  targetUri(req: FastifyRequest): string {
    const viaProxy = Boolean(this.trustedProxies?.allows(req.raw.socket.remoteAddress ?? ''));
    const forwardedProto = viaProxy ? firstValue(req.headers['x-forwarded-proto']) : undefined;
    const forwardedHost = viaProxy ? firstValue(req.headers['x-forwarded-host']) : undefined;
    const scheme = forwardedProto ?? ((req.raw.socket as TLSSocket).encrypted ? 'https' : 'http');
    const host = forwardedHost ?? req.headers.host ?? '';
    return `${scheme}://${host}${req.raw.url ?? req.url}`;
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const first = v?.split(',')[0]?.trim().toLowerCase();
  return first || undefined;
}
