import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { CardInput, YotoCard } from '../../yoto/card';
import { realClock, type TimeSource } from '../../time/clock';
import type { VirtualCardLibrary } from '../contracts';
import { PersistedJson } from './persisted-json';
import { assertValidCard } from './validate-card';

export class CardNotFoundError extends Error {
  readonly code = 'not_found';

  constructor(readonly cardId: string) {
    super(`card ${cardId} not found`);
    this.name = 'CardNotFoundError';
  }
}

export interface CardStoreEvents {
  saved: [card: YotoCard];
  deleted: [cardId: string];
}

export interface CardStoreOptions {
  /** Where cards are kept between runs; none: memory only. */
  dataDir?: string;
  clock?: TimeSource;
  /** The owner written on every card (the virtual cloud has one account). */
  userId?: string;
}

interface CardsFile {
  version: 1;
  cards: YotoCard[];
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The virtual cloud's MYO cards: what `POST /content` stored, served back on
 * `/content` and to the virtual players (VirtualCardLibrary). Every card is
 * validated as the real cloud would; saves reach the JSON file before they
 * are acknowledged.
 */
export class VirtualCardStore extends EventEmitter<CardStoreEvents> implements VirtualCardLibrary {
  private readonly cards = new Map<string, YotoCard>();
  private readonly file: PersistedJson<CardsFile>;
  private readonly clock: TimeSource;
  readonly userId: string;

  constructor(options: CardStoreOptions = {}) {
    super();
    this.file = new PersistedJson(options.dataDir ? path.join(options.dataDir, 'cards.json') : undefined);
    this.clock = options.clock ?? realClock;
    this.userId = options.userId ?? 'virtual-user';
  }

  /** True when load() found no saved cards file: a new virtual cloud. */
  private isNew = false;

  async load(): Promise<void> {
    const stored = await this.file.read();
    this.isNew = stored === undefined;
    this.cards.clear();
    for (const card of stored?.cards ?? []) this.cards.set(card.cardId, card);
  }

  get(cardId: string): YotoCard | undefined {
    const card = this.cards.get(cardId);
    return card ? structuredClone(card) : undefined;
  }

  list(): YotoCard[] {
    return [...this.cards.values()].map((card) => structuredClone(card));
  }

  /** Creates (no cardId) or replaces (known cardId) a card; throws CardValidationError or CardNotFoundError. */
  async save(input: unknown): Promise<YotoCard> {
    const valid: CardInput = assertValidCard(input);
    const now = new Date(this.clock.now()).toISOString();
    let card: YotoCard;
    if (valid.cardId) {
      const existing = this.cards.get(valid.cardId);
      if (!existing) throw new CardNotFoundError(valid.cardId);
      card = { ...structuredClone(valid), cardId: valid.cardId, createdAt: existing.createdAt ?? now, updatedAt: now, userId: this.userId };
    } else {
      card = { ...structuredClone(valid), cardId: this.newCardId(), createdAt: now, updatedAt: now, userId: this.userId };
    }
    this.cards.set(card.cardId, card);
    await this.persist();
    this.emit('saved', structuredClone(card));
    return structuredClone(card);
  }

  /** Adds these cards, with their own ids, to a new store only: a user's deletions stay deleted. */
  async seedIfNew(cards: readonly CardInput[]): Promise<void> {
    if (!this.isNew || cards.length === 0) return;
    this.isNew = false;
    const now = new Date(this.clock.now()).toISOString();
    for (const input of cards) {
      const valid = assertValidCard(input);
      if (!valid.cardId) throw new Error('a seeded card needs its cardId');
      this.cards.set(valid.cardId, { ...structuredClone(valid), cardId: valid.cardId, createdAt: now, updatedAt: now, userId: this.userId });
    }
    await this.persist();
  }

  async delete(cardId: string): Promise<void> {
    if (!this.cards.delete(cardId)) throw new CardNotFoundError(cardId);
    await this.persist();
    this.emit('deleted', cardId);
  }

  async flush(): Promise<void> {
    await this.file.flush();
  }

  private persist(): Promise<void> {
    return this.file.write({ version: 1, cards: [...this.cards.values()] });
  }

  private newCardId(): string {
    for (;;) {
      let id = '';
      for (let i = 0; i < 5; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
      if (!this.cards.has(id)) return id;
    }
  }
}
