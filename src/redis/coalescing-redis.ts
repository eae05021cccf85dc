import Redis, { type Command } from 'ioredis';

/**
 * An ioredis client whose commands issued in one turn of the event loop leave in one write.
 *
 * The first command sent while the connection is ready corks its socket, and a setImmediate (after
 * this turn's I/O callbacks) uncorks it: the commands of every request handled in between go out in
 * one writev. That is the batching window of ioredis's `enableAutoPipelining`, without its cost:
 * auto-pipelining builds an ioredis Pipeline per batch, and on Node 20 those objects outlive two
 * scavenges, so the limiter's calls alone promoted ~4 KB per request to the old generation
 * (decision 75: about 10x the scavenge time and a full mark-compact every few seconds under load).
 * Replies are read exactly as without corking: each command is still queued in order and answered
 * by its own reply.
 *
 * Only the client's own connection is corked, only in the `ready` state: commands given an explicit
 * stream (ioredis's handshake) and commands refused because the connection is down behave as in
 * ioredis. If the socket is replaced meanwhile (a reconnect), the old one is still the one uncorked;
 * anything written to it was queued on it and fails with it, as ioredis handles any lost connection.
 */
export class CoalescingRedis extends Redis {
  private corkedStream: Redis['stream'] | undefined;

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    if (!stream && !this.corkedStream && this.status === 'ready' && this.stream?.writable) {
      const corked = this.stream;
      this.corkedStream = corked;
      corked.cork();
      setImmediate(() => {
        this.corkedStream = undefined;
        corked.uncork();
      });
    }
    return super.sendCommand(command, stream);
  }
}
