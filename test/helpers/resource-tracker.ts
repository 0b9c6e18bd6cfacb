import { createHook, type AsyncHook } from 'node:async_hooks';

/** Async resource types that a redeploy must not leave behind. */
const TRACKED = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'TCPCONNECTWRAP', 'PIPEWRAP', 'FSEVENTWRAP', 'STATWATCHER']);

/**
 * Resources the test itself or Node.js internals own: fetch's connection pool
 * and fast timer (undici), mocha's test timeouts, and the HTTP server's
 * one-second Date header cache.
 */
const NOT_OURS = [/undici/, /[\\/]mocha[\\/]/, /at utcDate /];

export interface LeakedResource {
  type: string;
  stack: string;
}

/**
 * Tracks sockets, servers and timers created while it runs, with the stack
 * that created each, so a test can say exactly what was left behind.
 */
export class ResourceTracker {
  private readonly live = new Map<number, LeakedResource>();
  private readonly hook: AsyncHook;

  private constructor() {
    this.hook = createHook({
      init: (asyncId, type) => {
        if (!TRACKED.has(type)) return;
        const stack = new Error().stack?.split('\n').slice(2).join('\n') ?? '';
        if (NOT_OURS.some((pattern) => pattern.test(stack))) return;
        this.live.set(asyncId, { type, stack });
      },
      destroy: (asyncId) => {
        this.live.delete(asyncId);
      },
    });
    this.hook.enable();
  }

  static start(): ResourceTracker {
    return new ResourceTracker();
  }

  /** What is still open, after letting pending close callbacks run. */
  async leaked(): Promise<LeakedResource[]> {
    for (let turn = 0; turn < 3; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
    return [...this.live.values()];
  }

  stop(): void {
    this.hook.disable();
  }
}

/** One line per leaked resource, with the first frames that created it, for assertion messages. */
export function describeLeaks(leaks: LeakedResource[]): string {
  return leaks.map((leak) => `${leak.type}\n${leak.stack.split('\n').slice(0, 8).join('\n')}`).join('\n\n');
}
