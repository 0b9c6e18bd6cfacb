/**
 * The one place that knows which record type lives in which collection. The
 * rest of the store is generic over `{ id: string }`.
 */
import type { AudioFile, CyoaStory, Device, DeviceEvent, PlaybackSession, Script, Session, User } from '../types/schemas';

export type { DeviceEvent };

export interface CollectionRecords {
  users: User;
  devices: Device;
  audio_files: AudioFile;
  scripts: Script;
  cyoa_stories: CyoaStory;
  playback_history: PlaybackSession;
  sessions: Session;
}

export type CollectionName = keyof CollectionRecords;

/** The collections in the order they appear in db.json. */
export const COLLECTION_NAMES: readonly CollectionName[] = [
  'users',
  'devices',
  'audio_files',
  'scripts',
  'cyoa_stories',
  'playback_history',
  'sessions',
];

/** Collections whose records carry createdAt/updatedAt; update() refreshes updatedAt. */
export const TIMESTAMPED_COLLECTIONS: ReadonlySet<CollectionName> = new Set<CollectionName>([
  'users',
  'devices',
  'audio_files',
  'scripts',
  'cyoa_stories',
]);

export function isCollectionName(value: string): value is CollectionName {
  return (COLLECTION_NAMES as readonly string[]).includes(value);
}
