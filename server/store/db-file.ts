import * as fs from 'node:fs/promises';
import type { Adapter, Low } from 'lowdb';
import { writeJsonAtomic } from '../files/atomic-file';
import type { Logger } from '../log/logger';
import { StoreError, errorMessage } from './errors';
import { findLayoutProblem, latestVersion, migrate, type Migration, type StoredData } from './migrations';

export interface LoadedDbFile {
  low: Low<StoredData>;
  data: StoredData;
  schemaVersion: number;
  /** Set when an older file was migrated on this open. */
  migratedFrom?: number;
  backupFile?: string;
}

/**
 * Opens db.json: creates it at the current schema version, or reads it,
 * refuses what it cannot trust (not JSON, not an object, from a newer version,
 * broken layout) without touching the file, and migrates older versions after
 * copying the original to db.json.v<old>.bak.
 */
export async function loadDbFile(file: string, migrations: readonly Migration[], logger: Logger): Promise<LoadedDbFile> {
  const targetVersion = latestVersion(migrations);
  const text = await readIfExists(file);
  if (text === undefined) {
    const data = checkedLayout(file, migrate({}, 0, migrations));
    const low = await createLow(file, data);
    await low.write();
    logger.info('created a new store', { file, schemaVersion: targetVersion });
    return { low, data, schemaVersion: targetVersion };
  }

  const stored = parseDbText(file, text);
  const version = storedVersion(file, stored);
  if (version > targetVersion) {
    throw new StoreError(
      'schema_too_new',
      `${file} has schema version ${version}, but this version of the package only knows up to ${targetVersion}; ` +
        'upgrade the package to open it (the store never downgrades data)',
      { file, fileVersion: version, knownVersion: targetVersion },
    );
  }
  if (version === targetVersion) {
    const data = checkedLayout(file, stored);
    return { low: await createLow(file, data), data, schemaVersion: version };
  }

  const data = checkedLayout(file, migrate(stored, version, migrations));
  const backupFile = `${file}.v${version}.bak`;
  await fs.copyFile(file, backupFile);
  const low = await createLow(file, data);
  await low.write();
  logger.info('migrated the store', { file, fromVersion: version, toVersion: targetVersion, backupFile });
  return { low, data, schemaVersion: targetVersion, migratedFrom: version, backupFile };
}

async function createLow(file: string, data: StoredData): Promise<Low<StoredData>> {
  // lowdb is ESM-only; this package is CommonJS, so it is loaded with import().
  const { Low } = await import('lowdb');
  return new Low<StoredData>(new DurableJsonFile(file), data);
}

/**
 * lowdb's adapter for db.json through the hub's one atomic writer: a write resolves (and the
 * store acknowledges the change) only once the file and its directory are fsynced. lowdb's own
 * JSONFile renames without fsync, so an acknowledged change could vanish in a power cut.
 */
class DurableJsonFile implements Adapter<StoredData> {
  constructor(private readonly file: string) {}

  async read(): Promise<StoredData | null> {
    const text = await readIfExists(this.file);
    return text === undefined ? null : parseDbText(this.file, text);
  }

  write(data: StoredData): Promise<void> {
    return writeJsonAtomic(this.file, data);
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseDbText(file: string, text: string): StoredData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw corrupt(file, `it is not valid JSON (${errorMessage(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw corrupt(file, 'it does not hold a JSON object');
  }
  return parsed as StoredData;
}

/** A file without schemaVersion predates versioning: it is version 0. */
function storedVersion(file: string, data: StoredData): number {
  const version = data['schemaVersion'];
  if (version === undefined) return 0;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw corrupt(file, `its schemaVersion ${JSON.stringify(version)} is not a non-negative integer`);
  }
  return version;
}

function checkedLayout(file: string, data: StoredData): StoredData {
  const problem = findLayoutProblem(data);
  if (problem) throw corrupt(file, problem);
  return data;
}

function corrupt(file: string, reason: string): StoreError {
  return new StoreError('store_corrupt', `cannot open the store: ${file} is unreadable because ${reason}; the file was left untouched, fix or move it away`, {
    file,
  });
}
