/** The setter behind each stand-in hooked() answered, for replaceHooked(). */
const replacers = new WeakMap<object, (next: object) => void>();

/**
 * Registers the mocha hooks that start a value before the suite (`per: 'suite'`) or before each
 * test (`per: 'test'`) and stop it afterwards, and answers a stand-in for that value: reading a
 * property reads the current value's (methods bound to it), so a suite writes `rig.request(...)`
 * as if it held the rig. Reading it outside a hook or test throws, naming what was not started.
 */
export function hooked<T extends object>(per: 'suite' | 'test', start: () => Promise<T>, stop: (value: T) => Promise<void> | void): T {
  let current: T | undefined;
  (per === 'suite' ? before : beforeEach)(async () => {
    current = await start();
  });
  (per === 'suite' ? after : afterEach)(async () => {
    const value = current;
    current = undefined;
    if (value) await stop(value);
  });
  const standIn = new Proxy({} as T, {
    get(_target, key) {
      if (!current) throw new Error(`${start.name || 'the hooked value'} has not started: read it inside a hook or test`);
      const value: unknown = Reflect.get(current, key, current);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
  });
  replacers.set(standIn, (next) => {
    current = next as T;
  });
  return standIn;
}

/**
 * Puts `next` behind a hooked() stand-in in place of the value it had, as a test that restarts
 * something does once it has stopped the old one itself; the hooks stop `next` in its turn.
 */
export function replaceHooked<T extends object>(standIn: T, next: T): void {
  const replace = replacers.get(standIn);
  if (!replace) throw new Error('replaceHooked() takes a stand-in that hooked() answered');
  replace(next);
}
