import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturesDir } from '../helpers/fixtures';
import { fromTwee } from '../../server/stories';
import type { Story } from '../../server/stories';

export const spyDir = path.join(fixturesDir, 'twine-spyshort');
export const spyTwee = (): string => fs.readFileSync(path.join(spyDir, 'spyshort.twee'), 'utf8');

/** Audio is associated by passage name: audio/<Passage>.mp3 becomes file id "audio-<Passage>". */
export function importSpy(): ReturnType<typeof fromTwee> {
  const audio = new Set(fs.readdirSync(path.join(spyDir, 'audio')).map((file) => path.basename(file, '.mp3')));
  return fromTwee(spyTwee(), { audioFor: (name) => (audio.has(name) ? `audio-${name}` : undefined), id: 'spy', userId: 'u-1', now: '2026-01-10T08:15:32.000Z' });
}

export function story(partial: Partial<Story> & Pick<Story, 'nodes' | 'connections'>): Story {
  return { id: 's', userId: 'u', title: 'T', createdAt: '2026-01-10T08:15:32.000Z', updatedAt: '2026-01-10T08:15:32.000Z', ...partial };
}

export const at = (x = 0, y = 0): { x: number; y: number } => ({ x, y });
