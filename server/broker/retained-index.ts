import { Readable } from 'node:stream';

/** The part of a retained PUBLISH packet the index reads; Aedes keeps and delivers the whole packet. */
export interface RetainedPacket {
  topic: string;
  payload: Buffer | string;
}

/** The three methods of Aedes's persistence (aedes-persistence's callback layer) that hold retained messages. */
export interface RetainedPersistence {
  storeRetained(packet: RetainedPacket): PromiseLike<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/**
 * The embedded broker's retained messages, indexed by topic. Aedes's in-memory
 * persistence answers every SUBSCRIBE filter by testing it against every retained
 * topic (splitting each topic again for each test): with 1,000 players the bridge
 * retains thousands of topics and the adapter subscribes to thousands of exact
 * device topics, so following a fleet cost seconds of CPU per hundred filters. Here
 * a filter without wildcards is one map lookup, and a wildcard filter compares
 * levels split once, when the message was retained.
 */
export class RetainedIndex {
  private readonly packets = new Map<string, { packet: RetainedPacket; levels: string[] }>();

  get size(): number {
    return this.packets.size;
  }

  /** An empty payload clears the topic's retained message (MQTT 3.1.1, 3.3.1.3). */
  store(packet: RetainedPacket): void {
    if (packet.payload.length === 0) {
      this.packets.delete(packet.topic);
      return;
    }
    // Most retained topics are published again and again (a player's playback): their levels are split once.
    const entry = this.packets.get(packet.topic);
    if (entry) entry.packet = { ...packet };
    else this.packets.set(packet.topic, { packet: { ...packet }, levels: packet.topic.split('/') });
  }

  /** The retained messages matching each filter, filter by filter (a message matching two filters comes twice, as Aedes's own persistence does). */
  *matching(filters: readonly string[]): Generator<RetainedPacket> {
    for (const filter of filters) {
      if (!hasWildcard(filter)) {
        const entry = this.packets.get(filter);
        if (entry) yield entry.packet;
        continue;
      }
      const levels = filter.split('/');
      for (const { packet, levels: topicLevels } of this.packets.values()) {
        if (levelsMatch(levels, topicLevels)) yield packet;
      }
    }
  }

  /** Makes `persistence` keep its retained messages here instead of in its own list. */
  install(persistence: RetainedPersistence): void {
    persistence.storeRetained = (packet) => {
      this.store(packet);
      return STORED;
    };
    persistence.createRetainedStream = (pattern) => Readable.from(this.matching([pattern]));
    persistence.createRetainedStreamCombi = (patterns) => Readable.from(this.matching(patterns));
  }
}

/**
 * What storeRetained answers: stored already, and its then() goes on at once rather than a
 * turn of the microtask queue later. Aedes numbers every message as it comes in and a
 * subscriber drops one numbered lower than the last it got (its duplicate check), so a
 * retained message must not fall behind a message published after it. With a real promise
 * it did whenever messages came in together (the hub's own publishes, a state then its
 * event, or several in one packet read): the subscribers lost the retained state.
 */
const STORED: PromiseLike<void> = {
  then<TResult1 = void, TResult2 = never>(
    onfulfilled?: ((value: void) => TResult1 | PromiseLike<TResult1>) | null,
  ): PromiseLike<TResult1 | TResult2> {
    try {
      return Promise.resolve(onfulfilled ? onfulfilled() : (undefined as TResult1));
    } catch (error) {
      return Promise.reject(error);
    }
  },
};

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** MQTT matching by levels; a filter starting with a wildcard does not match a `$` topic (MQTT 3.1.1, 4.7.2). */
function levelsMatch(filter: readonly string[], topic: readonly string[]): boolean {
  if ((filter[0] === '+' || filter[0] === '#') && topic[0]!.startsWith('$')) return false;
  for (let i = 0; i < filter.length; i++) {
    const part = filter[i];
    if (part === '#') return true;
    if (i >= topic.length) return false;
    if (part !== '+' && part !== topic[i]) return false;
  }
  return filter.length === topic.length;
}
