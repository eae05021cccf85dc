/** True when an IPC message between the primary and a worker is one of ours of this `type`. */
export function isMessage<T extends { type: string }>(
  message: unknown,
  type: T['type'],
): message is T {
  return typeof message === 'object' && message !== null && (message as T).type === type;
}
