import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../server/paths';

/** test/fixtures/real: data published by others (see the README there), never edited. */
export const realDir = path.join(packageRoot, 'test', 'fixtures', 'real');

export interface CorpusItem {
  id: string;
  source: string;
  note?: string;
}

export interface MqttItem extends CorpusItem {
  topic: string;
  payload: unknown;
  receivedAt?: string | null;
}

export interface RestItem extends CorpusItem {
  endpoint: string;
  body: Record<string, unknown>;
}

export interface CardItem extends CorpusItem {
  body: { card: Record<string, unknown> };
}

function jsonLines<T>(file: string): T[] {
  return fs
    .readFileSync(path.join(realDir, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

export const mqttItems = (): MqttItem[] => jsonLines<MqttItem>('mqtt.jsonl');
export const restItems = (): RestItem[] => jsonLines<RestItem>('rest.jsonl');
export const cardItems = (): CardItem[] => jsonLines<CardItem>('cards.jsonl');

export interface StoryItem {
  name: string;
  twee: string;
  /** The card Yoto's converter (twee2json + twee2yoto) made of it. */
  reference: ReferenceCard;
}

export interface ReferenceCard {
  title: string;
  metadata: { cover: { imageL: string } };
  content: {
    playbackType: string;
    config: { resumeTimeout: number; disableTrackNav: boolean; disableChapterNav: boolean; autoadvance: string };
    chapters: Array<{ key: string; title: string; tracks: Array<{ key: string; events: Record<string, { cmd: string; params?: { chapterKey: string; trackKey: string } }> }> }>;
  };
}

export function storyItems(): StoryItem[] {
  const dir = path.join(realDir, 'stories');
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.twee'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.twee'.length);
      return {
        name,
        twee: fs.readFileSync(path.join(dir, file), 'utf8'),
        reference: JSON.parse(fs.readFileSync(path.join(dir, `${name}.yoto-converter.json`), 'utf8')) as ReferenceCard,
      };
    });
}

export function sourceRepo(item: CorpusItem): string {
  return item.source.split('@')[0]!.split(':')[0]!.split('/').slice(0, 2).join('/');
}
