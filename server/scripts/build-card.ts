import { ApiError, type ErrorDetail } from '../http/api-error';
import type { AudioFile, CyoaStory, PlaylistScript, Script, SimpleScript } from '../types/schemas';
import type { CardChapter, CardInput, CardTrack } from '../yoto/card';

/** The track formats Yoto plays from a stream, by the library's detected format. */
const CARD_FORMATS: Partial<Record<AudioFile['format'], 'mp3' | 'aac' | 'ogg' | 'opus'>> = {
  mp3: 'mp3',
  m4a: 'aac',
  aac: 'aac',
  ogg: 'ogg',
  opus: 'opus',
};

export const MAX_CARD_TITLE = 100;

/** What a track plays, resolved against the library and the smart streams. */
export type ResolvedSource =
  | { kind: 'file'; file: AudioFile; url: string }
  | { kind: 'smart'; streamId: string; url: string; /** what it would play now, for the format */ sample?: AudioFile };

export interface CardBuildContext {
  cardId?: string;
  /** The source of the track at `path` (e.g. `definition.tracks[1]`). Throws ApiError for a missing file. */
  source(ref: { audioFileId?: string; smartStreamId?: string }, path: string): ResolvedSource;
}

/** Zero-padded keys "01", "02", ... wide enough for `count` (at least two digits), as Yoto's cards keep them. */
export function paddedKeys(count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => String(i + 1).padStart(width, '0'));
}

export function cardFormatOf(file: AudioFile, path: string): 'mp3' | 'aac' | 'ogg' | 'opus' {
  const format = CARD_FORMATS[file.format];
  if (!format) {
    throw new ApiError(422, 'unsupported_stream_format', `"${file.title}" is ${file.format.toUpperCase()}; Yoto players stream MP3, AAC, Ogg or Opus only`, [
      { path, message: `format ${file.format} cannot be streamed to a player` },
    ]);
  }
  return format;
}

function streamTrack(key: string, title: string, source: ResolvedSource, path: string, icon: string | undefined): CardTrack {
  const file = source.kind === 'file' ? source.file : source.sample;
  const track: CardTrack = {
    key,
    title: title.slice(0, MAX_CARD_TITLE),
    type: 'stream',
    format: file ? cardFormatOf(file, path) : 'mp3',
    trackUrl: source.url,
  };
  // A smart stream's length is only known when the player fetches it.
  if (source.kind === 'file') {
    track.duration = Math.round(source.file.durationSeconds);
    track.fileSize = source.file.fileSize;
  }
  if (icon !== undefined) track.display = { icon16x16: icon };
  return track;
}

function chapterOf(key: string, track: CardTrack): CardChapter {
  return {
    key,
    title: track.title,
    ...(track.display ? { display: { ...track.display } } : {}),
    ...(track.duration !== undefined ? { duration: track.duration } : {}),
    tracks: [{ ...track, key: '01' }],
  };
}

function linearCard(script: Script, chapters: CardChapter[], context: CardBuildContext): CardInput {
  const duration = chapters.reduce((sum, c) => sum + (c.duration ?? 0), 0);
  return {
    ...(context.cardId !== undefined ? { cardId: context.cardId } : {}),
    title: script.name.slice(0, MAX_CARD_TITLE),
    metadata: { description: `Streamed by Yoto Smart Stream (script "${script.name}")`.slice(0, 500), media: { duration, hasStreams: true } },
    content: {
      playbackType: 'linear',
      config: { autoadvance: 'next', onlineOnly: true },
      editSettings: { transcodeAudioUploads: false, autoOverlayLabels: 'chapters' },
      chapters,
    },
  };
}

/** A simple script: one chapter, one stream track. */
export function simpleCard(script: SimpleScript, context: CardBuildContext): CardInput {
  const path = 'definition.audioFileId';
  const source = context.source({ audioFileId: script.definition.audioFileId }, path);
  const title = script.definition.title ?? (source.kind === 'file' ? source.file.title : script.name);
  const track = streamTrack('01', title, source, path, script.definition.icon);
  return linearCard(script, [chapterOf('01', track)], context);
}

/** A playlist: one chapter per entry (so the Mini shows each entry's icon and the chapter buttons skip), one stream track each. */
export function playlistCard(script: PlaylistScript, context: CardBuildContext): CardInput {
  const keys = paddedKeys(script.definition.tracks.length);
  const chapters = script.definition.tracks.map((entry, i) => {
    const path = `definition.tracks[${i}]`;
    const source = context.source(entry, path);
    const title = entry.title ?? (source.kind === 'file' ? source.file.title : source.streamId);
    return chapterOf(keys[i]!, streamTrack('01', title, source, path, entry.icon));
  });
  return linearCard(script, chapters, context);
}

/** Every file id a story's nodes use. */
export function storyFileIds(story: Pick<CyoaStory, 'nodes'>): string[] {
  return story.nodes.map((n) => n.audioFileId).filter((id): id is string => id !== undefined);
}

export function detailsMessage(details: ErrorDetail[]): string {
  return details.map((d) => `${d.path} ${d.message}`).join('; ');
}
