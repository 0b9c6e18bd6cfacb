import type { CardChapter, CardEvent, CardInput, CardTrack } from '../yoto/card';
import { automaticExit, indexStory, reachableFrom, type Exits, type Story, type StoryNode } from './model';

export interface CompileCardOptions {
  /** The URL the player fetches for a node: a signed hub stream URL (https) or "yoto:#<sha256>" for uploaded audio. */
  trackUrl(node: StoryNode): string;
  /** The node's audio length in seconds, when known. */
  duration?(node: StoryNode): number | undefined;
  /** The node's 16x16 icon; default: the node's icon when it is "yoto:#<mediaId>" or an https URL (as the cloud names icons), not an http one, which the cloud refuses. */
  icon?(node: StoryNode): string | undefined;
  /** Set when the card replaces an existing one. */
  cardId?: string;
  /** Seconds the player remembers where it was (content.config.resumeTimeout); default the story's, else Yoto's converter's 30 days. */
  resumeTimeout?: number;
  /** Track format (default mp3). */
  format?: 'mp3' | 'aac' | 'opus' | 'ogg';
}

export interface CompiledCard {
  card: CardInput;
  /** chapterKey -> story node id: maps a player's chapter back to the passage it plays. */
  chapterToNode: Record<string, string>;
  /** story node id -> chapterKey (reachable nodes only). */
  nodeToChapter: Record<string, string>;
}

export class StoryCompileError extends Error {
  readonly code = 'story_not_compilable';

  constructor(message: string) {
    super(message);
    this.name = 'StoryCompileError';
  }
}

const MEDIA_REF = /^yoto:#[A-Za-z0-9_-]+$/;

/** What Yoto's Twine converter (twee2yoto) sets when the story's StoryInit does not: 30 days, and its green star cover. */
export const CONVERTER_RESUME_TIMEOUT = 2_592_000;
export const CONVERTER_COVER = 'https://cdn.yoto.io/myo-cover/star_green.gif';

/** The card settings a story carries (from its Twee StoryInit, see twee.ts): `metadata.yotoCard`. */
export function storyCardSettings(story: Story): { cover?: string; resumeTimeout?: number } {
  const settings = story.metadata?.['yotoCard'];
  if (typeof settings !== 'object' || settings === null) return {};
  const { cover, resumeTimeout } = settings as Record<string, unknown>;
  return {
    ...(typeof cover === 'string' && /^https?:\/\/\S+$/.test(cover) ? { cover } : {}),
    ...(typeof resumeTimeout === 'number' && Number.isInteger(resumeTimeout) && resumeTimeout >= 0 && resumeTimeout <= 31_536_000 ? { resumeTimeout } : {}),
  };
}

/** Zero-padded keys "01", "02", ... wide enough for `count` (at least two digits). */
export function chapterKeys(count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => String(i + 1).padStart(width, '0'));
}

/**
 * Compiles a story to a Yoto interactive card (DESIGN.md section 4, as Yoto's
 * Twine converter does): one chapter with one track per node reachable from
 * the start (the start is chapter 1, where an inserted card begins); the left
 * and right buttons are onLhb / onRhb, the end of the audio is onEnd (`end`,
 * else `default`, else stop). Every goto is checked against the card's keys
 * before returning: a wrong key would fail silently on the player.
 */
export function compileToCard(story: Story, options: CompileCardOptions): CompiledCard {
  const index = indexStory(story);
  const start = story.startNodeId;
  if (start === undefined || !index.nodes.has(start)) throw new StoryCompileError('the story has no valid start node; choose where it starts before making a card');
  const { order } = reachableFrom(index, start);
  const keys = chapterKeys(order.length);
  const nodeToChapter: Record<string, string> = {};
  const chapterToNode: Record<string, string> = {};
  order.forEach((id, i) => {
    nodeToChapter[id] = keys[i]!;
    chapterToNode[keys[i]!] = id;
  });
  const goto = (from: StoryNode, to: string): CardEvent => {
    const key = nodeToChapter[to];
    if (key === undefined) throw new StoryCompileError(`passage "${from.title}" leads to "${to}", which is not in the story`);
    return { cmd: 'goto', params: { chapterKey: key, trackKey: key } };
  };
  const format = options.format ?? 'mp3';
  const chapters: CardChapter[] = order.map((id) => {
    const node = index.nodes.get(id)!;
    const key = nodeToChapter[id]!;
    const exits: Exits = index.exits.get(id) ?? {};
    const auto = automaticExit(exits);
    const events: NonNullable<CardTrack['events']> = {
      ...(exits.left ? { onLhb: goto(node, exits.left.to) } : {}),
      ...(exits.right ? { onRhb: goto(node, exits.right.to) } : {}),
      onEnd: auto ? goto(node, auto.to) : { cmd: 'stop' },
    };
    const url = options.trackUrl(node);
    const duration = options.duration?.(node);
    const icon = options.icon ? options.icon(node) : node.icon !== undefined && (MEDIA_REF.test(node.icon) || node.icon.startsWith('https://')) ? node.icon : undefined;
    const display = icon !== undefined ? { icon16x16: icon } : undefined;
    const track: CardTrack = {
      key,
      title: node.title,
      type: MEDIA_REF.test(url) ? 'audio' : 'stream',
      format,
      trackUrl: url,
      ...(duration !== undefined ? { duration } : {}),
      ...(display ? { display } : {}),
      events,
    };
    return { key, title: node.title, ...(display ? { display } : {}), ...(duration !== undefined ? { duration } : {}), tracks: [track] };
  });
  const settings = storyCardSettings(story);
  const card: CardInput = {
    ...(options.cardId !== undefined ? { cardId: options.cardId } : {}),
    title: story.title,
    metadata: {
      ...(story.description ? { description: story.description } : {}),
      cover: { imageL: settings.cover ?? CONVERTER_COVER },
      media: { hasStreams: chapters.some((chapter) => chapter.tracks[0]!.type === 'stream') },
    },
    content: {
      playbackType: 'interactive',
      config: {
        autoadvance: 'none',
        disableTrackNav: true,
        disableChapterNav: true,
        resumeTimeout: options.resumeTimeout ?? settings.resumeTimeout ?? CONVERTER_RESUME_TIMEOUT,
      },
      editSettings: { interactiveContent: true, autoOverlayLabels: 'chapters' },
      chapters,
    },
  };
  verifyGotos(card);
  return { card, chapterToNode, nodeToChapter };
}

/** Throws StoryCompileError unless every goto of the card names a chapter and track it has. */
export function verifyGotos(card: CardInput): void {
  const tracks = new Map<string, Set<string>>();
  for (const chapter of card.content.chapters) {
    if (tracks.has(chapter.key)) throw new StoryCompileError(`chapter key "${chapter.key}" is used twice`);
    tracks.set(chapter.key, new Set(chapter.tracks.map((track) => track.key)));
  }
  for (const chapter of card.content.chapters) {
    for (const track of chapter.tracks) {
      for (const [name, event] of Object.entries(track.events ?? {})) {
        if (event?.cmd !== 'goto') continue;
        const { chapterKey, trackKey } = event.params;
        if (!tracks.get(chapterKey)?.has(trackKey)) {
          throw new StoryCompileError(`chapter "${chapter.key}" ${name} goes to chapter "${chapterKey}" track "${trackKey}", which the card does not have`);
        }
      }
    }
  }
}
