import * as path from 'node:path';
import type { AudioLibrary } from '../library';
import type { Logger } from '../log/logger';
import { packageRoot } from '../paths';
import type { Store } from '../store';
import { readJsonSync, writeFileAtomic } from '../files/atomic-file';
import type { AudioFile, CyoaStory, Script } from '../types/schemas';
import { getValidator } from '../validation';

/** The bundled files (see demo-content/README.md for their origin and licence). */
export const demoContentDir = path.join(packageRoot, 'demo-content');

/** Who owns the demo content: no account, so admins see it and members do not. */
export const DEMO_OWNER = 'demo';

/** Written once the demo content is complete; while it exists the hub never adds the demo again. */
export const DEMO_MARKER_FILE = 'demo-content.json';

/** The ids the demo flows (flows/*.json) name. */
export const DEMO_IDS = {
  story: 'demo-spy-mission',
  scripts: {
    bedtime: 'demo-bedtime',
    storyCard: 'demo-spy-story',
    start: 'demo-spy-start',
    riddle: 'demo-spy-riddle',
    cave: 'demo-spy-cave',
  },
} as const;

type Passage = 'start' | 'riddle' | 'cave';

/** The three passages: the bundled file and the title each gets in the library. */
const AUDIO: Record<Passage, { file: string; title: string }> = {
  start: { file: 'Start.mp3', title: "Agent Alex's mission" },
  riddle: { file: 'SolveRiddle.mp3', title: 'The treasure under the rocks' },
  cave: { file: 'SearchElsewhere.mp3', title: 'Searching the cave' },
};

export interface DemoContentOptions {
  store: Pick<Store, 'audioFiles' | 'scripts' | 'stories'>;
  library: Pick<AudioLibrary, 'importFile'>;
  dataDir: string;
  logger: Logger;
  now?: () => Date;
}

export type DemoContentOutcome =
  | { added: true; audioFileIds: string[]; scriptIds: string[]; storyId: string }
  | { added: false; reason: 'already_added' | 'library_in_use' };

const isDemoId = (id: string): boolean => id.startsWith('demo-');

/**
 * Adds the demo content to a hub whose library holds nothing but (part of) the demo:
 * the three bundled audio files, a bedtime playlist, a short CYOA story, a script that
 * plays the story as one card and one simple script per passage. Idempotent: items are
 * found again by their fixed ids (scripts, story) and their owner and original file name
 * (audio), so a start that stopped half way is completed and a restart adds nothing;
 * once complete, a marker file in the data directory keeps the hub from adding it again,
 * even after the user deleted some of it.
 */
export async function addDemoContent(options: DemoContentOptions): Promise<DemoContentOutcome> {
  const { store, library, dataDir, logger } = options;
  const marker = path.join(dataDir, DEMO_MARKER_FILE);
  if (readJsonSync(marker) !== undefined) return { added: false, reason: 'already_added' };
  const demoAudio = (file: AudioFile): boolean => file.userId === DEMO_OWNER;
  const othersContent =
    store.audioFiles.list((file) => !demoAudio(file)).length +
    store.scripts.list((script) => !isDemoId(script.id)).length +
    store.stories.list((story) => !isDemoId(story.id)).length;
  if (othersContent > 0) return { added: false, reason: 'library_in_use' };

  const at = (options.now ?? (() => new Date()))().toISOString();
  const validator = getValidator();
  const audioIds = {} as Record<Passage, string>;
  for (const passage of Object.keys(AUDIO) as Passage[]) {
    const { file, title } = AUDIO[passage];
    const existing = store.audioFiles.list((record) => demoAudio(record) && record.originalName === file)[0];
    audioIds[passage] = existing ? existing.id : (await library.importFile(path.join(demoContentDir, 'audio', file), { userId: DEMO_OWNER, title })).id;
  }

  const story: CyoaStory = validator.validate('cyoa-story', {
    id: DEMO_IDS.story,
    userId: DEMO_OWNER,
    title: 'Spy mission (demo)',
    description: "Agent Alex looks for the hidden treasure. A short story from Yoto's twine-to-yoto samples: left solves the riddle, right searches the cave; with no button pressed, the riddle.",
    startNodeId: 'start',
    nodes: [
      { id: 'start', title: AUDIO.start.title, audioFileId: audioIds.start, prompt: 'Solve the riddle straight away (left), or search elsewhere (right)?', position: { x: 80, y: 160 } },
      { id: 'riddle', title: AUDIO.riddle.title, audioFileId: audioIds.riddle, ending: true, prompt: 'The treasure is found: the mission is complete.', position: { x: 420, y: 60 } },
      { id: 'cave', title: AUDIO.cave.title, audioFileId: audioIds.cave, prompt: 'Back to the start (left), or solve the riddle after all (right)?', position: { x: 420, y: 260 } },
    ],
    connections: [
      { id: 'start-left', from: 'start', to: 'riddle', choice: 'left', label: 'Solve the riddle straight away' },
      { id: 'start-right', from: 'start', to: 'cave', choice: 'right', label: 'Search elsewhere' },
      { id: 'start-end', from: 'start', to: 'riddle', choice: 'end', label: 'No button pressed: the riddle' },
      { id: 'cave-left', from: 'cave', to: 'start', choice: 'left', label: 'Back to the start' },
      { id: 'cave-right', from: 'cave', to: 'riddle', choice: 'right', label: 'Solve the riddle after all' },
    ],
    expect: [
      { name: 'no button pressed: straight to the treasure', inputs: ['end'], path: ['start', 'riddle'] },
      { name: 'the cave, then back to the start', inputs: ['right', 'left'], path: ['start', 'cave', 'start'] },
    ],
    metadata: { demo: true, source: 'yotoplay/twine-to-yoto sample_twees/spyshort (ISC)' },
    createdAt: at,
    updatedAt: at,
  });
  if (!store.stories.get(story.id)) await store.stories.insert(story);

  const scripts: Array<Omit<Script, 'userId' | 'createdAt' | 'updatedAt'>> = [
    {
      id: DEMO_IDS.scripts.bedtime,
      name: 'Bedtime stories (demo)',
      type: 'playlist',
      definition: { tracks: (Object.keys(AUDIO) as Passage[]).map((passage) => ({ audioFileId: audioIds[passage], title: AUDIO[passage].title })) },
    },
    { id: DEMO_IDS.scripts.storyCard, name: 'Spy mission story card (demo)', type: 'cyoa', definition: { storyId: story.id } },
    { id: DEMO_IDS.scripts.start, name: `Spy mission: ${AUDIO.start.title} (demo)`, type: 'simple', definition: { audioFileId: audioIds.start } },
    { id: DEMO_IDS.scripts.riddle, name: `Spy mission: ${AUDIO.riddle.title} (demo)`, type: 'simple', definition: { audioFileId: audioIds.riddle } },
    { id: DEMO_IDS.scripts.cave, name: `Spy mission: ${AUDIO.cave.title} (demo)`, type: 'simple', definition: { audioFileId: audioIds.cave } },
  ];
  for (const script of scripts) {
    if (store.scripts.get(script.id)) continue;
    await store.scripts.insert(validator.validate('script', { ...script, userId: DEMO_OWNER, createdAt: at, updatedAt: at }));
  }

  const outcome = { added: true as const, audioFileIds: Object.values(audioIds), scriptIds: scripts.map((script) => script.id), storyId: story.id };
  await writeFileAtomic(marker, JSON.stringify({ addedAt: at, ...outcome }, null, 2) + '\n', { mode: 0o644 });
  logger.info('added the demo content: 3 audio files, 5 scripts and a story', { storyId: story.id, scripts: outcome.scriptIds });
  return outcome;
}
