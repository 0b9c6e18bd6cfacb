import type { Logger } from '../log/logger';

interface Part {
  name: string;
  stop: () => unknown;
}

/**
 * The parts of a running hub, in the order they were made: `stopAll` stops
 * them in reverse (requests first, the store last), each on its own, so one
 * that fails to stop is logged and the rest still stop.
 */
export class Parts {
  private readonly parts: Part[] = [];

  constructor(private readonly logger: Logger) {}

  /** Hands `value` to the list with how to stop it, and returns it. */
  add<T>(name: string, value: T, stop: (value: T) => unknown): T {
    this.parts.push({ name, stop: () => stop(value) });
    return value;
  }

  get names(): string[] {
    return this.parts.map((part) => part.name);
  }

  async stopAll(): Promise<void> {
    for (const part of this.parts.splice(0).reverse()) {
      try {
        await part.stop();
      } catch (error) {
        this.logger.error(`failed to stop the ${part.name}`, { err: error });
      }
    }
  }
}
