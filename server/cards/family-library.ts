import { silentLogger, type Logger } from '../log/logger';
import type { YotoCard } from '../yoto/card';
import type { YotoCloudApi } from '../yoto/rest/yoto-api';
import type { YotoFamilyLibraryEntry, YotoFamilyLibraryGroup } from '../yoto/rest/types';

/** A card of the family library as the hub's surfaces show it. */
export interface FamilyCard {
  cardId: string;
  title: string;
  /** "myo" (Make Your Own), "bought" or "podcast". */
  kind: 'myo' | 'bought' | 'podcast';
  author?: string;
  description?: string;
  /** The cover image URL. */
  cover?: string;
  /** Seconds, when the cloud says. */
  duration?: number;
  /** Ids of the groups it is in. */
  groups: string[];
}

export interface FamilyCardDetail extends FamilyCard {
  chapters: Array<{ key: string; title: string; duration?: number; tracks: Array<{ key: string; title: string; duration?: number }> }>;
}

export interface CardGroup {
  id: string;
  name: string;
  imageUrl?: string;
  cardIds: string[];
}

export interface FamilyLibraryOptions {
  /** The REST side of the cloud in use; undefined while none is connected. */
  api: () => YotoCloudApi | undefined;
  /** Full cards (chapters and tracks), cached by the cloud connection. */
  getCard: (cardId: string) => Promise<YotoCard | undefined>;
  logger?: Logger;
  /** How long the list is served before it is read again (default 5 minutes). */
  cacheMs?: number;
  now?: () => number;
  random?: () => number;
}

interface Snapshot {
  api: YotoCloudApi;
  at: number;
  cards: FamilyCard[];
  groups: CardGroup[];
}

export class NoCloudError extends Error {
  constructor() {
    super('the hub is not connected to a Yoto cloud, so the family library cannot be read');
    this.name = 'NoCloudError';
  }
}

/**
 * The family's cards (bought, Make Your Own, podcasts) and library groups,
 * read from the cloud in use and kept for a few minutes: requests are served
 * from the cache, a stale cache is read again once (concurrent requests share
 * the read), and switching clouds starts afresh.
 */
export class FamilyLibrary {
  private readonly logger: Logger;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;

  constructor(private readonly options: FamilyLibraryOptions) {
    this.logger = options.logger ?? silentLogger;
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Cards, optionally only those whose title, author or id contains `q`, or in group `group` (id or name). */
  async list(filter: { q?: string; group?: string } = {}): Promise<FamilyCard[]> {
    const snapshot = await this.current();
    let cards = snapshot.cards;
    if (filter.group) {
      const group = findGroup(snapshot.groups, filter.group);
      if (!group) return [];
      const ids = new Set(group.cardIds);
      cards = cards.filter((card) => ids.has(card.cardId));
    }
    const q = filter.q?.trim().toLowerCase();
    if (q) cards = cards.filter((card) => card.title.toLowerCase().includes(q) || card.cardId.toLowerCase() === q || (card.author ?? '').toLowerCase().includes(q));
    return cards;
  }

  async groups(): Promise<CardGroup[]> {
    return (await this.current()).groups;
  }

  /** One card of the library with its chapters and tracks; undefined when it is not in the library. */
  async card(cardId: string): Promise<FamilyCardDetail | undefined> {
    const summary = (await this.current()).cards.find((card) => card.cardId === cardId);
    if (!summary) return undefined;
    const full = await this.options.getCard(cardId);
    return {
      ...summary,
      chapters: (full?.content.chapters ?? []).map((chapter) => ({
        key: chapter.key,
        title: chapter.title,
        ...(chapter.duration !== undefined ? { duration: chapter.duration } : {}),
        tracks: chapter.tracks.map((track) => ({ key: track.key, title: track.title, ...(track.duration !== undefined ? { duration: track.duration } : {}) })),
      })),
    };
  }

  /** The card of this title: the exact title (any case) first, else the only one containing it. */
  async findByTitle(title: string): Promise<FamilyCard | undefined> {
    const wanted = title.trim().toLowerCase();
    if (!wanted) return undefined;
    const cards = (await this.current()).cards;
    const exact = cards.find((card) => card.title.toLowerCase() === wanted);
    if (exact) return exact;
    const partial = cards.filter((card) => card.title.toLowerCase().includes(wanted));
    return partial.length === 1 ? partial[0] : undefined;
  }

  /** A card picked at random from a group (by id or name); undefined when the group is unknown or empty. */
  async randomFromGroup(group: string): Promise<FamilyCard | undefined> {
    const snapshot = await this.current();
    const found = findGroup(snapshot.groups, group);
    const cards = found ? snapshot.cards.filter((card) => found.cardIds.includes(card.cardId)) : [];
    if (cards.length === 0) return undefined;
    return cards[Math.min(cards.length - 1, Math.floor(this.random() * cards.length))];
  }

  /** Reads the library again now. */
  async refresh(): Promise<void> {
    this.snapshot = undefined;
    await this.current();
  }

  private async current(): Promise<Snapshot> {
    const api = this.options.api();
    if (!api) throw new NoCloudError();
    const snapshot = this.snapshot;
    if (snapshot && snapshot.api === api && this.now() - snapshot.at < this.cacheMs) return snapshot;
    if (!this.loading) {
      this.loading = this.load(api).finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async load(api: YotoCloudApi): Promise<Snapshot> {
    const [entries, rawGroups] = await Promise.all([
      api.getFamilyLibrary(),
      api.getFamilyLibraryGroups().catch((error: unknown) => {
        // Groups are an extra: a library without them still lists its cards.
        this.logger.warn('could not read the family library groups', { err: error });
        return [] as YotoFamilyLibraryGroup[];
      }),
    ]);
    const groups: CardGroup[] = rawGroups.map((group) => ({
      id: group.id,
      name: group.name,
      ...(group.imageUrl ? { imageUrl: group.imageUrl } : {}),
      cardIds: (group.items ?? []).map((item) => item.contentId),
    }));
    const cards = entries.flatMap((entry) => {
      const card = familyCard(entry, groups);
      return card ? [card] : [];
    });
    cards.sort((a, b) => a.title.localeCompare(b.title));
    const snapshot: Snapshot = { api, at: this.now(), cards, groups };
    this.snapshot = snapshot;
    this.logger.debug('family library read', { cards: cards.length, groups: groups.length });
    return snapshot;
  }
}

function findGroup(groups: CardGroup[], wanted: string): CardGroup | undefined {
  const lower = wanted.trim().toLowerCase();
  return groups.find((group) => group.id === wanted) ?? groups.find((group) => group.name.toLowerCase() === lower);
}

/** Real entries vary: the card may sit under `card` or be the entry itself; an entry without an id or title is left out. */
function familyCard(entry: YotoFamilyLibraryEntry, groups: CardGroup[]): FamilyCard | undefined {
  const card = (entry.card ?? entry) as Partial<YotoCard> & { metadata?: YotoCard['metadata'] };
  const cardId = entry.cardId ?? card.cardId;
  const title = card.title;
  if (typeof cardId !== 'string' || typeof title !== 'string') return undefined;
  const share = (entry.shareType ?? '').toLowerCase();
  const kind: FamilyCard['kind'] = share === 'myo' ? 'myo' : share.includes('podcast') ? 'podcast' : 'bought';
  const metadata = card.metadata;
  return {
    cardId,
    title,
    kind,
    ...(metadata?.author ? { author: metadata.author } : {}),
    ...(metadata?.description ? { description: metadata.description } : {}),
    ...(metadata?.cover?.imageL ? { cover: metadata.cover.imageL } : {}),
    ...(metadata?.media?.duration !== undefined ? { duration: metadata.media.duration } : {}),
    groups: groups.filter((group) => group.cardIds.includes(cardId)).map((group) => group.id),
  };
}
