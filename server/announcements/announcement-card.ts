import type { CardInput, YotoCard } from '../yoto/card';

type CardTrack = CardInput['content']['chapters'][number]['tracks'][number];

/** One piece of an announcement's card: the chime or the announcement itself. */
export interface AnnouncementAudio {
  title: string;
  url: string;
  format: 'mp3' | 'aac' | 'ogg' | 'opus';
  /** Whole seconds, when known (a URL's length is not). */
  durationSeconds?: number;
  fileSize?: number;
}

/**
 * The streaming card an announcement plays from: one chapter whose tracks are
 * the chime (when asked for) and the announcement `repeat` times, played one
 * after the other; the card stops at its end, which is how the hub knows the
 * announcement is over.
 */
export function announcementCard(cardId: string | undefined, chime: AnnouncementAudio | undefined, audio: AnnouncementAudio, repeat: number): CardInput {
  const pieces = [...(chime ? [chime] : []), ...Array.from({ length: repeat }, () => audio)];
  const tracks: CardTrack[] = pieces.map((piece, index) => ({
    key: String(index + 1).padStart(2, '0'),
    title: piece.title,
    type: 'stream',
    format: piece.format,
    trackUrl: piece.url,
    ...(piece.durationSeconds !== undefined ? { duration: Math.max(1, Math.round(piece.durationSeconds)) } : {}),
    ...(piece.fileSize !== undefined ? { fileSize: piece.fileSize } : {}),
  }));
  const known = tracks.every((track) => track.duration !== undefined);
  const duration = known ? tracks.reduce((sum, track) => sum + (track.duration ?? 0), 0) : undefined;
  return {
    ...(cardId !== undefined ? { cardId } : {}),
    title: 'Announcement',
    metadata: { description: 'Announcements played by Yoto Smart Stream', media: { ...(duration !== undefined ? { duration } : {}), hasStreams: true } },
    content: {
      playbackType: 'linear',
      config: { autoadvance: 'next', onlineOnly: true },
      editSettings: { transcodeAudioUploads: false, autoOverlayLabels: 'chapters' },
      chapters: [{ key: '01', title: audio.title, ...(duration !== undefined ? { duration } : {}), tracks }],
    },
  };
}

/** How long the card plays, when every track's length is known. */
export function cardDurationMs(card: YotoCard): number | undefined {
  const tracks = card.content.chapters.flatMap((chapter) => chapter.tracks);
  if (tracks.some((track) => track.duration === undefined)) return undefined;
  return tracks.reduce((sum, track) => sum + (track.duration ?? 0), 0) * 1000;
}
