import type { YotoCard } from '../../yoto/card';
import type { YotoCardSummary, YotoFamilyLibraryEntry, YotoFamilyLibraryGroup } from '../../yoto/rest/types';
import type { VirtualCardStore } from '../cards/card-store';
import type { VirtualCardLibrary } from '../contracts';

/** A bought card of the virtual family (simulated audio, like the demo MYO card). */
function bought(cardId: string, title: string, author: string, chapters: Array<[string, number]>, cover: string): YotoCard {
  return {
    cardId,
    title,
    metadata: { author, description: `${title}: a bought card of the virtual family library.`, cover: { imageL: cover } },
    content: {
      playbackType: 'linear',
      chapters: chapters.map(([chapterTitle, duration], index) => {
        const key = String(index + 1).padStart(2, '0');
        return {
          key,
          title: chapterTitle,
          duration,
          tracks: [{ key: '01', title: chapterTitle, type: 'audio', format: 'aac', trackUrl: `yoto:#virtual-${cardId}-${key}`, duration }],
        };
      }),
    },
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
}

/** Covers are small inline SVGs, so the panel shows them without the internet. */
function cover(colour: string, letter: string): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160"><rect width="160" height="160" rx="16" fill="${colour}"/><text x="80" y="104" font-size="72" text-anchor="middle" fill="#fff" font-family="sans-serif">${letter}</text></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** The bought cards every virtual family owns. */
export const VIRTUAL_BOUGHT_CARDS: readonly YotoCard[] = [
  bought('vbGruffalo', 'The Forest Mouse', 'Virtual Books', [['Into the wood', 300], ['The owl', 240], ['The snake', 260]], cover('#3a7d44', 'M')),
  bought('vbSpace0001', 'Rockets and Planets', 'Virtual Science', [['Lift-off', 200], ['The Moon', 320], ['Mars', 280], ['Home again', 180]], cover('#2d4f9e', 'R')),
  bought('vbLullaby01', 'Lullabies for Little Ones', 'Virtual Music', [['Twinkle', 150], ['Hush', 170], ['Goodnight', 190]], cover('#7b4fa3', 'L')),
  bought('vbPodcast01', 'Fun Facts Podcast', 'Virtual Radio', [['Episode 1: Octopuses', 600], ['Episode 2: Volcanoes', 620]], cover('#d9822b', 'F')),
];

/** The tone alarms play by default: fetchable by id like Yoto's alarm tones, but not in the library list. */
export const VIRTUAL_ALARM_TONE: YotoCard = bought('vtAlarmTone', 'Alarm tone', 'Virtual Yoto', [['Wake up', 60]], cover('#c0392b', 'A'));

const SHARE_TYPES: Readonly<Record<string, string>> = { vbPodcast01: 'podcast' };

/**
 * The virtual family library: the bought cards above and every MYO card of
 * the card store, with groups as the real `/card/family/library/groups`
 * returns them. Players read bought and MYO cards alike through it.
 */
export class VirtualFamilyLibrary implements VirtualCardLibrary {
  private readonly bought = new Map(VIRTUAL_BOUGHT_CARDS.map((card) => [card.cardId, card]));
  private readonly hidden = new Map([[VIRTUAL_ALARM_TONE.cardId, VIRTUAL_ALARM_TONE]]);

  constructor(private readonly myo: VirtualCardStore) {}

  get(cardId: string): YotoCard | undefined {
    return this.bought.get(cardId) ?? this.myo.get(cardId) ?? this.hidden.get(cardId);
  }

  entries(): YotoFamilyLibraryEntry[] {
    const cards: Array<[YotoCard, string]> = [
      ...[...this.bought.values()].map((card): [YotoCard, string] => [card, SHARE_TYPES[card.cardId] ?? 'purchased']),
      ...this.myo.list().map((card): [YotoCard, string] => [card, 'myo']),
    ];
    return cards.map(([card, shareType]) => ({ cardId: card.cardId, shareType, card: summarize(card) }));
  }

  groups(): YotoFamilyLibraryGroup[] {
    const myoIds = this.myo.list().map((card) => card.cardId);
    const group = (id: string, name: string, imageId: string, contentIds: string[]): YotoFamilyLibraryGroup => ({
      id,
      name,
      familyId: 'virtual-family',
      imageId,
      imageUrl: '',
      items: contentIds.filter((contentId) => this.get(contentId) !== undefined).map((contentId) => ({ contentId, addedAt: '2025-01-01T00:00:00.000Z' })),
      createdAt: '2025-01-01T00:00:00.000Z',
      lastModifiedAt: '2025-01-01T00:00:00.000Z',
    });
    return [
      group('vgBedtime', 'Bedtime', 'fp-moon', ['vbLullaby01', 'vbGruffalo', ...myoIds.slice(0, 1)]),
      group('vgDaytime', 'Daytime', 'fp-sun', ['vbSpace0001', 'vbPodcast01']),
      group('vgOurCards', 'Our own cards', 'fp-cards', myoIds),
    ];
  }
}

function summarize(card: YotoCard): YotoCardSummary {
  const { chapters: _chapters, ...content } = card.content;
  return { ...card, content };
}
