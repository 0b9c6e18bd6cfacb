import type { CardDescription } from '../core/state-merge';
import { silentLogger, type Logger } from '../log/logger';
import type { YotoCard } from '../yoto/card';
import type { FamilyCard } from './family-library';

export interface CardDirectoryOptions {
  /** The family library's cards (the library keeps them for a few minutes). */
  familyCards: () => Promise<readonly FamilyCard[]>;
  /** A card's own document (the cloud connection keeps those it read); undefined when the cloud has none. */
  getCard: (cardId: string) => Promise<YotoCard | undefined>;
  /** Whose cards they are (the cloud in use): when it changes, everything known is forgotten. */
  scope?: () => unknown;
  logger?: Logger;
  /** How long a card the cloud would not describe is not asked for again. Default 10 minutes. */
  missRetryMs?: number;
  now?: () => number;
}

/** Cards remembered, described or not: beyond this, the longest known go first. */
const MAX_CARDS = 5_000;
/** Longer cover URLs (an inline image too big for a retained message) are left out. */
const MAX_COVER_LENGTH = 2_048;
const COVER_URL = /^(https?:\/\/|data:image\/)/;

/**
 * What a card is (title, author, cover) by its id, for the house and the analytics: read from
 * the family library first (all of its cards are remembered at once), then from the card itself
 * (one of the hub's own cards, say), and remembered. `get` answers at once from what is known;
 * `describe` reads what is not, one read per card however many ask, and does not ask the cloud
 * again for a card it could not describe until `missRetryMs` has passed (a friend's card in the
 * player: not the family's).
 */
export class CardDirectory {
  private readonly known = new Map<string, CardDescription>();
  private readonly missed = new Map<string, number>();
  private readonly reading = new Map<string, Promise<CardDescription | undefined>>();
  private readonly logger: Logger;
  private readonly missRetryMs: number;
  private readonly now: () => number;
  private scope: unknown;

  constructor(private readonly options: CardDirectoryOptions) {
    this.logger = options.logger ?? silentLogger;
    this.missRetryMs = options.missRetryMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The card as far as it is known, without asking anyone. */
  get(cardId: string): CardDescription | undefined {
    this.checkScope();
    return this.known.get(cardId);
  }

  /** The card, read if need be; undefined when neither the family library nor the cloud describes it. */
  describe(cardId: string): Promise<CardDescription | undefined> {
    this.checkScope();
    const known = this.known.get(cardId);
    if (known) return Promise.resolve(known);
    const missedAt = this.missed.get(cardId);
    if (missedAt !== undefined && this.now() - missedAt < this.missRetryMs) return Promise.resolve(undefined);
    let reading = this.reading.get(cardId);
    if (!reading) {
      reading = this.read(cardId).finally(() => this.reading.delete(cardId));
      this.reading.set(cardId, reading);
    }
    return reading;
  }

  /** Another cloud, other cards: what the one before described is forgotten. */
  private checkScope(): void {
    const scope = this.options.scope?.();
    if (scope === this.scope) return;
    this.scope = scope;
    this.known.clear();
    this.missed.clear();
  }

  /** Reads the family library (the library's cached list, mostly) and remembers every card of it. */
  async learnFamily(): Promise<void> {
    this.checkScope();
    await this.readFamily();
  }

  private async readFamily(): Promise<void> {
    const scope = this.scope;
    try {
      const cards = await this.options.familyCards();
      if (scope !== this.scope) return;
      for (const card of cards) this.remember(card.cardId, description(card.title, card.author, card.cover));
    } catch (error) {
      this.logger.debug('could not read the family library to describe its cards', { err: error });
    }
  }

  private async read(cardId: string): Promise<CardDescription | undefined> {
    const scope = this.scope;
    await this.readFamily();
    const fromLibrary = this.known.get(cardId);
    if (fromLibrary || scope !== this.scope) return fromLibrary;
    try {
      const card = await this.options.getCard(cardId);
      if (scope !== this.scope) return undefined;
      if (card) return this.remember(cardId, description(card.title, card.metadata?.author, card.metadata?.cover?.imageL));
    } catch (error) {
      this.logger.debug('could not read a card to describe it', { cardId, err: error });
    }
    bounded(this.missed, cardId, this.now());
    return undefined;
  }

  private remember(cardId: string, card: CardDescription): CardDescription {
    this.missed.delete(cardId);
    bounded(this.known, cardId, card);
    return card;
  }
}

function description(title: string, author: string | undefined, cover: string | undefined): CardDescription {
  const card: CardDescription = { title: title.slice(0, 255) };
  if (author) card.author = author.slice(0, 255);
  if (cover && cover.length <= MAX_COVER_LENGTH && COVER_URL.test(cover)) card.cover = cover;
  return card;
}

/** Sets a key of a map that keeps at most MAX_CARDS, dropping the oldest. */
function bounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MAX_CARDS) map.delete(map.keys().next().value!);
  map.set(key, value);
}
