import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientAddress, IpAllowlist } from '@libs/net';
import { AppConfig } from '@app/config/app-config';

/** On a connection: its client address when the peer is not a trusted proxy, else null. */
const PEER_CLIENT = Symbol('quiver.peerClient');

/** The socket, with what peerClient() found out about its peer. */
type PeerSocket = Socket & { [PEER_CLIENT]?: string | null };

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
    const socket = req.raw.socket;
    return (
      this.peerClient(socket) ??
      clientAddress(socket.remoteAddress, req.headers['x-forwarded-for'], this.trustedProxies)
    );
  }

  /** The absolute URI the client addressed, as RFC 9421's @target-uri needs it. */
  targetUri(req: FastifyRequest): string {
    const viaProxy = this.peerClient(req.raw.socket) === null;
    const forwardedProto = viaProxy ? firstValue(req.headers['x-forwarded-proto']) : undefined;
    const forwardedHost = viaProxy ? firstValue(req.headers['x-forwarded-host']) : undefined;
    const scheme = forwardedProto ?? ((req.raw.socket as TLSSocket).encrypted ? 'https' : 'http');
    const host = forwardedHost ?? req.headers.host ?? '';
    return `${scheme}://${host}${req.raw.url ?? req.url}`;
  }

  /**
   * The client of every request on this connection when its peer is not a trusted proxy; null when
   * it is one (then each request's X-Forwarded-* headers count); undefined for a socket without an
   * address (closed). Decided once per connection and kept on the socket.
   */
  private peerClient(socket: PeerSocket): string | null | undefined {
    let peer = socket[PEER_CLIENT];
    const address = socket.remoteAddress;
    if (peer === undefined && address) {
      peer = this.trustedProxies?.allows(address)
        ? null
        : clientAddress(address, undefined, undefined);
      socket[PEER_CLIENT] = peer;
    }
    return peer;
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const first = v?.split(',')[0]?.trim().toLowerCase();
  return first || undefined;
}
