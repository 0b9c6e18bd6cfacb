/**
 * The MYO card document `POST /content` takes (DESIGN.md section 4), as Yoto's
 * own Twine converter and the maintained clients write it.
 */
export type CardEvent =
  | { cmd: 'goto'; params: { chapterKey: string; trackKey: string } }
  | { cmd: 'stop' };

/** What a chapter and a track both carry: the key it is addressed by, and how the player lists and shows it. */
export interface CardEntry {
  key: string;
  title: string;
  duration?: number;
  overlayLabel?: string;
  display?: { icon16x16?: string };
}

export interface CardTrack extends CardEntry {
  type: 'audio' | 'stream';
  format: string;
  /** `yoto:#<sha256>` for uploaded audio, an https URL for a stream. */
  trackUrl: string;
  fileSize?: number;
  /** Interactive cards only: left button, right button, end of audio. */
  events?: { onLhb?: CardEvent; onRhb?: CardEvent; onEnd?: CardEvent };
}

export interface CardChapter extends CardEntry {
  tracks: CardTrack[];
}

export interface CardContent {
  playbackType?: 'linear' | 'interactive';
  config?: {
    autoadvance?: string;
    resumeTimeout?: number;
    onlineOnly?: boolean;
    disableTrackNav?: boolean;
    disableChapterNav?: boolean;
  };
  editSettings?: { transcodeAudioUploads?: boolean; interactiveContent?: boolean; autoOverlayLabels?: string };
  chapters: CardChapter[];
}

export interface CardMetadata {
  description?: string;
  author?: string;
  cover?: { imageL?: string };
  media?: { duration?: number; fileSize?: number; hasStreams?: boolean };
}

export interface YotoCard {
  /** 5 characters, assigned by the cloud on create */
  cardId: string;
  title: string;
  metadata?: CardMetadata;
  content: CardContent;
  createdAt?: string;
  updatedAt?: string;
  userId?: string;
}

/** What `POST /content` accepts: a card without an id creates one. */
export type CardInput = Omit<YotoCard, 'cardId' | 'createdAt' | 'updatedAt' | 'userId'> & { cardId?: string };
