#!/usr/bin/env node
/**
 * node dist/server/store/migrate-cli.js --from <dataDir> --to postgres://...
 * node dist/server/store/migrate-cli.js --from postgres://... --to <dataDir>
 *
 * Copies the store (records, schema version, events) between an embedded
 * data folder and PostgreSQL. Stop the hub first. Refuses a target that
 * already holds a store unless --replace is given.
 */
import * as path from 'node:path';
import { createLogger } from '../log/logger';
import { errorMessage } from './errors';
import { copyDataDirToPostgres, copyPostgresToDataDir, type CopySummary } from './migrate-data';
import { redactedUrl } from './postgres-store';

const USAGE = `usage: migrate-cli --from <dataDir|postgres://...> --to <postgres://...|dataDir> [--replace]

  --from    where the store is now: a data folder (db.json, events/) or a PostgreSQL URL
  --to      where to copy it: the other kind
  --replace overwrite a target that already holds a store`;

export interface MigrateArgs {
  from: string;
  to: string;
  replace: boolean;
}

export function isDatabaseUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

export function parseMigrateArgs(argv: readonly string[]): MigrateArgs {
  let from: string | undefined;
  let to: string | undefined;
  let replace = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--replace') replace = true;
    else if (arg === '--from' || arg === '--to') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`${arg} needs a value`);
      if (arg === '--from') from = value;
      else to = value;
    } else throw new Error(`unknown argument "${arg}"`);
  }
  if (!from || !to) throw new Error('both --from and --to are needed');
  if (isDatabaseUrl(from) === isDatabaseUrl(to)) throw new Error('one of --from and --to is a data folder, the other a postgres:// URL');
  return { from, to, replace };
}

export async function runMigrate(args: MigrateArgs): Promise<CopySummary> {
  const logger = createLogger({ fields: { component: 'store-migrate' } });
  const options = { replace: args.replace, logger };
  if (isDatabaseUrl(args.to)) return copyDataDirToPostgres(path.resolve(args.from), args.to, options);
  return copyPostgresToDataDir(args.from, path.resolve(args.to), options);
}

async function main(): Promise<void> {
  let args: MigrateArgs;
  try {
    args = parseMigrateArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const summary = await runMigrate(args);
    const shown = (value: string): string => (isDatabaseUrl(value) ? redactedUrl(value) : path.resolve(value));
    process.stdout.write(`${JSON.stringify({ from: shown(args.from), to: shown(args.to), ...summary })}\n`);
  } catch (error) {
    process.stderr.write(`migration failed: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
