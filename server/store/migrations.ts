import { COLLECTION_NAMES } from './collections';
import { StoreError, errorMessage } from './errors';

/** The content of db.json as read from disk, before the store trusts its layout. */
export type StoredData = Record<string, unknown>;

/**
 * One step of the on-disk layout. `up` receives data at `version - 1` and
 * returns it at `version`; it must not rely on anything but its input, so a
 * file written years ago still migrates the same way.
 */
export interface Migration {
  version: number;
  description: string;
  up(data: StoredData): StoredData;
}

// Version 1 keeps its own list: later collections arrive through later
// migrations, never by changing what version 1 meant.
const VERSION_1_COLLECTIONS = ['users', 'devices', 'audio_files', 'scripts', 'cyoa_stories', 'playback_history'];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'initial layout: one array of records per collection',
    up(data) {
      const next: StoredData = { ...data };
      for (const name of VERSION_1_COLLECTIONS) {
        if (next[name] === undefined) next[name] = [];
        else if (!Array.isArray(next[name])) throw new Error(`"${name}" is not an array`);
      }
      return next;
    },
  },
  {
    version: 2,
    description: 'sessions: the refresh tokens of signed-in users (hashes only)',
    up(data) {
      if (data['sessions'] === undefined) return { ...data, sessions: [] };
      if (!Array.isArray(data['sessions'])) throw new Error('"sessions" is not an array');
      return { ...data };
    },
  },
];

export const CURRENT_SCHEMA_VERSION = latestVersion(MIGRATIONS);

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
}

/** Migrations must be numbered 1, 2, 3... with no gap, or a step would be skipped silently. */
export function assertMigrationsAreSequential(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration #${index} has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

/** Applies every step after `fromVersion`, in order; `schemaVersion` follows each step. */
export function migrate(data: StoredData, fromVersion: number, migrations: readonly Migration[]): StoredData {
  let current = structuredClone(data);
  for (const migration of migrations) {
    if (migration.version <= fromVersion) continue;
    try {
      current = { ...migration.up(current), schemaVersion: migration.version };
    } catch (error) {
      throw new StoreError('migration_failed', `migration to schema version ${migration.version} (${migration.description}) failed: ${errorMessage(error)}`, {
        fromVersion,
        failedVersion: migration.version,
      });
    }
  }
  return current;
}

/** After migrating, every collection this code knows must be an array of objects with a string id. */
export function findLayoutProblem(data: StoredData): string | undefined {
  for (const name of COLLECTION_NAMES) {
    const records = data[name];
    if (!Array.isArray(records)) return `"${name}" is missing or not an array`;
    const seen = new Set<string>();
    for (const [index, record] of records.entries()) {
      const id: unknown = typeof record === 'object' && record !== null ? (record as { id?: unknown }).id : undefined;
      if (typeof id !== 'string') return `"${name}"[${index}] is not a record with a string id`;
      if (seen.has(id)) return `"${name}" holds id "${id}" twice`;
      seen.add(id);
    }
  }
  return undefined;
}
