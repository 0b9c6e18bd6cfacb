/** An emitter that says its connection state on one event, as the hub's MQTT clients do. */
interface ConnectionStateEmitter<E extends string, S extends string> {
  on(event: E, listener: (state: S) => void): unknown;
  off(event: E, listener: (state: S) => void): unknown;
}

/**
 * Resolves once `emitter` says `connected` on `event`: at once when `connectedNow`. The listener
 * goes with the answer, so waiting leaves nothing behind.
 */
export function untilConnected<E extends string, S extends string>(emitter: ConnectionStateEmitter<E, S>, event: E, connectedNow: boolean): Promise<void> {
  if (connectedNow) return Promise.resolve();
  return new Promise((resolve) => {
    const onState = (state: S): void => {
      if (state !== 'connected') return;
      emitter.off(event, onState);
      resolve();
    };
    emitter.on(event, onState);
  });
}
