import { DEMO_OWNER } from '../demo/demo-content';
import type { Logger } from '../log/logger';
import type { Store } from '../store';

/** What a deleted user's content is removed through: each capability's own remove, so its rules hold. */
export interface UserContentPorts {
  store: Pick<Store, 'users' | 'devices' | 'scripts' | 'stories' | 'audioFiles'>;
  /** The audio library: removes the record, then the audio and cover files. */
  library: { remove(fileId: string): Promise<boolean> };
  /** Stream URLs: revoked per player and per script (responses under way are cut off). */
  streams: {
    revokeDevice(deviceId: string): Promise<void>;
    revokeScript(scriptId: string): Promise<void>;
    smart: { list(): Array<{ id: string; userId?: string }>; remove(id: string): Promise<boolean> };
  };
  logger: Logger;
}

export interface RemovedContent {
  devices: number;
  scripts: number;
  stories: number;
  audioFiles: number;
  smartStreams: number;
}

/**
 * Deleting a user deletes what they owned (nothing is handed to an admin: a member's recordings
 * and stories are theirs): their players are unregistered (they become unclaimed, an admin's only)
 * and every stream URL deployed to them stops; their scripts are deleted and their URLs revoked;
 * their stories, smart streams and audio files (records, audio and covers) are deleted.
 * Cards already saved in the Yoto cloud stay there but no longer play.
 */
export async function removeUserContent(ports: UserContentPorts, userIds: ReadonlySet<string>): Promise<RemovedContent> {
  const { store, library, streams } = ports;
  const owned = <T extends { userId?: string | undefined }>(record: T): boolean => record.userId !== undefined && userIds.has(record.userId);
  const removed: RemovedContent = { devices: 0, scripts: 0, stories: 0, audioFiles: 0, smartStreams: 0 };
  for (const device of store.devices.list(owned)) {
    await store.devices.delete(device.id);
    await streams.revokeDevice(device.deviceId);
    removed.devices++;
  }
  for (const script of store.scripts.list(owned)) {
    await store.scripts.delete(script.id);
    await streams.revokeScript(script.id);
    removed.scripts++;
  }
  for (const story of store.stories.list(owned)) {
    await store.stories.delete(story.id);
    removed.stories++;
  }
  for (const stream of streams.smart.list().filter(owned)) {
    if (await streams.smart.remove(stream.id)) removed.smartStreams++;
  }
  for (const file of store.audioFiles.list(owned)) {
    if (await library.remove(file.id)) removed.audioFiles++;
  }
  return removed;
}

/**
 * Owners that are not accounts: the demo content (`server/demo`) and what flows make as Node-RED
 * (`NODE_RED_USER`). Their content is never an interrupted deletion's leftover.
 */
export const SYSTEM_OWNERS: ReadonlySet<string> = new Set([DEMO_OWNER, 'node-red']);

/**
 * Removes the content of users who no longer exist: what a crash in the middle of a user's
 * deletion left (the account goes first, so access ends at once). Run once at start.
 */
export async function removeOrphanedUserContent(ports: UserContentPorts): Promise<RemovedContent> {
  const { store } = ports;
  const known = (userId: string | undefined): boolean => userId === undefined || SYSTEM_OWNERS.has(userId) || store.users.get(userId) !== undefined;
  const gone = new Set<string>();
  const collect = (records: Array<{ userId?: string | undefined }>): void => {
    for (const record of records) if (!known(record.userId)) gone.add(record.userId!);
  };
  collect(store.devices.list());
  collect(store.scripts.list());
  collect(store.stories.list());
  collect(store.audioFiles.list());
  collect(ports.streams.smart.list());
  if (gone.size === 0) return { devices: 0, scripts: 0, stories: 0, audioFiles: 0, smartStreams: 0 };
  const removed = await removeUserContent(ports, gone);
  ports.logger.info('removed what deleted users still owned (a deletion was interrupted)', { users: gone.size, ...removed });
  return removed;
}

/**
 * Wires user deletion to content removal: `accounts.onUserDeleted(...)` gets the handler, and the
 * content of users deleted before a crash is removed now. Resolves to the remover of the handler.
 */
export async function enforceUserDeletion(
  accounts: { onUserDeleted(handler: (userId: string) => Promise<void>): () => void },
  ports: UserContentPorts,
): Promise<() => void> {
  await removeOrphanedUserContent(ports);
  return accounts.onUserDeleted(async (userId) => {
    const removed = await removeUserContent(ports, new Set([userId]));
    ports.logger.info('removed what the deleted user owned', { userId, ...removed });
  });
}
