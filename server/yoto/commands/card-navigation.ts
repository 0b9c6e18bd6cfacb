import type { CardChapter, CardTrack, YotoCard } from '../card';

/**
 * Where a track sits on a card. Keys are compared as strings, exactly as a
 * player does: "8" is not "08".
 */
export interface TrackPosition {
  chapter: CardChapter;
  track: CardTrack;
  /** Index in play order (chapters in order, their tracks in order). */
  index: number;
}

/** Every track of the card in the order a linear card plays them. */
export function playOrder(card: YotoCard): TrackPosition[] {
  const order: TrackPosition[] = [];
  for (const chapter of card.content.chapters) {
    for (const track of chapter.tracks) order.push({ chapter, track, index: order.length });
  }
  return order;
}

/**
 * The track `card/start` would play: the chapter's first track when no track
 * key is given, the card's first chapter when no chapter key is given.
 */
export function findTrack(card: YotoCard, chapterKey?: string, trackKey?: string): TrackPosition | undefined {
  const order = playOrder(card);
  const chapter = chapterKey === undefined ? card.content.chapters[0] : card.content.chapters.find((c) => c.key === chapterKey);
  if (!chapter) return undefined;
  return order.find((p) => p.chapter === chapter && (trackKey === undefined || p.track.key === trackKey));
}

/** The track `step` places away in play order, or undefined past either end. */
export function neighbourTrack(card: YotoCard, from: TrackPosition, step: 1 | -1): TrackPosition | undefined {
  return playOrder(card)[from.index + step];
}

/** A hint for a refused start: which key the card does not have, and what it has. */
export function describeMissingKeys(card: YotoCard, chapterKey?: string, trackKey?: string): string | undefined {
  const chapter = chapterKey === undefined ? card.content.chapters[0] : card.content.chapters.find((c) => c.key === chapterKey);
  if (!chapter) {
    const keys = card.content.chapters.map((c) => c.key).join(', ');
    return `card ${card.cardId} has no chapter "${chapterKey}" (chapters: ${keys}); keys keep the card's zero padding`;
  }
  if (trackKey !== undefined && !chapter.tracks.some((t) => t.key === trackKey)) {
    const keys = chapter.tracks.map((t) => t.key).join(', ');
    return `chapter "${chapter.key}" of card ${card.cardId} has no track "${trackKey}" (tracks: ${keys}); keys keep the card's zero padding`;
  }
  return undefined;
}
