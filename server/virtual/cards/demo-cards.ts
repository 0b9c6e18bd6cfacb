import type { CardInput } from '../../yoto/card';

/**
 * Cards a new virtual cloud starts with, so a fresh `npm start` has something
 * to play. Their audio is simulated: virtual players play a `yoto:#` track
 * for its declared duration without fetching bytes, as the real player plays
 * audio the cloud already holds.
 */
export const DEMO_CARDS: CardInput[] = [
  {
    cardId: 'demo1',
    title: 'The Sleepy Dragon (demo)',
    metadata: { description: 'A demo card of the virtual Yoto cloud: three chapters of simulated audio.' },
    content: {
      playbackType: 'linear',
      chapters: [
        { key: '01', title: 'The cave', tracks: [{ key: '01', title: 'The cave', type: 'audio', format: 'mp3', trackUrl: 'yoto:#demo-sleepy-dragon-01', duration: 420 }] },
        { key: '02', title: 'The flight', tracks: [{ key: '01', title: 'The flight', type: 'audio', format: 'mp3', trackUrl: 'yoto:#demo-sleepy-dragon-02', duration: 540 }] },
        { key: '03', title: 'Home to bed', tracks: [{ key: '01', title: 'Home to bed', type: 'audio', format: 'mp3', trackUrl: 'yoto:#demo-sleepy-dragon-03', duration: 360 }] },
      ],
    },
  },
];
