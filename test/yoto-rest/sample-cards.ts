import type { CardContent, CardInput, CardTrack } from '../../server/yoto/card';

export function streamTrack(key: string, title: string): CardTrack {
  return { key, title, type: 'stream', format: 'mp3', trackUrl: `https://hub.example.net/stream/${key}.mp3`, duration: 60 };
}

/** A two-chapter bedtime playlist of streaming tracks. */
export function linearCard(title = 'Bedtime stories'): CardInput {
  return {
    title,
    metadata: { description: 'Two calm stories', author: 'The hub' },
    content: {
      playbackType: 'linear',
      config: { autoadvance: 'next', resumeTimeout: 2419200 },
      chapters: [
        { key: '01', title: 'The owl', tracks: [streamTrack('01', 'The owl')] },
        { key: '02', title: 'The fox', tracks: [streamTrack('01', 'The fox')] },
      ],
    },
  };
}

/**
 * Interactive content as Yoto's Twine converter lays it out: one chapter (key 01), one track per
 * passage, no automatic advance or track/chapter navigation; the tracks' events are the choices.
 */
export function interactiveContent(chapterTitle: string, tracks: CardTrack[]): CardContent {
  return {
    playbackType: 'interactive',
    config: { autoadvance: 'none', disableTrackNav: true, disableChapterNav: true },
    editSettings: { interactiveContent: true },
    chapters: [{ key: '01', title: chapterTitle, tracks }],
  };
}

/** A three-node choose-your-own-adventure card, laid out as Yoto's Twine converter does. */
export function interactiveCard(title = 'The spy'): CardInput {
  return {
    title,
    content: interactiveContent('Story', [
      {
        ...streamTrack('01', 'Start'),
        events: {
          onLhb: { cmd: 'goto', params: { chapterKey: '01', trackKey: '02' } },
          onRhb: { cmd: 'goto', params: { chapterKey: '01', trackKey: '03' } },
          onEnd: { cmd: 'stop' },
        },
      },
      { ...streamTrack('02', 'Solve the riddle'), events: { onEnd: { cmd: 'stop' } } },
      { ...streamTrack('03', 'Search elsewhere'), events: { onEnd: { cmd: 'stop' } } },
    ]),
  };
}
