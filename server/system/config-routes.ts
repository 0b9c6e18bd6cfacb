import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import express, { type Router } from 'express';
import type { HubOptions } from '../config/hub-options';
import { ApiError } from '../http/api-error';
import { requestUser } from '../http/request-user';
import { silentLogger, type Logger } from '../log/logger';
import { REDACTED, SECRET_KEY, redactUrlCredentials } from '../log/redact';
import type { HubConfig } from '../types/schemas';
import { getValidator } from '../validation';
import { writeJsonAtomic } from '../files/atomic-file';

export const HUB_CONFIG_FILE = 'hub-config.json';
/** Deeper than any hub-config setting (`broker.embedded.tls.port` is four levels). */
const MAX_SETTINGS_DEPTH = 8;

export interface ConfigRoutesOptions {
  /** The settings the hub runs with. */
  options: HubOptions;
  logger?: Logger;
}


/**
 * GET /config: the running settings (and the saved file, if any) without
 * secrets. PUT /config (admin): validates a whole hub-config, writes
 * `<dataDir>/hub-config.json` atomically and answers which settings differ
 * from the running ones: every setting is read at start, so each needs a restart.
 */
export function configRoutes(config: ConfigRoutesOptions): Router {
  const logger = config.logger ?? silentLogger;
  const file = path.join(config.options.dataDir, HUB_CONFIG_FILE);
  const router = express.Router();

  router.get('/config', async (_req, res) => {
    requestUser(res);
    const saved = await readSaved(file, logger);
    res.json({ config: redactSecrets(config.options), ...(saved ? { saved: redactSecrets(saved) } : {}), file });
  });

  router.put('/config', async (req, res) => {
    const user = requestUser(res);
    if (user.role !== 'admin') throw new ApiError(403, 'forbidden', 'only an admin can change the hub settings');
    const saved = await readSaved(file, logger);
    // A URL sent back as GET showed it (`mqtt://[redacted]@host`) keeps the credentials of the one in use.
    const body = getValidator().validate('hub-config', keepShownCredentials(req.body as unknown, [saved, config.options]));
    if (path.resolve(body.dataDir) !== path.resolve(config.options.dataDir)) {
      throw new ApiError(400, 'validation_failed', 'the data directory cannot be changed through the API (the settings file lives in it); set YOTO_DATA_DIR instead', [
        { path: '/dataDir', message: 'must be the data directory in use' },
      ]);
    }
    // The password is write-only: a body without one (as GET answers) keeps the one in use.
    const password = body.broker.password ?? saved?.broker.password ?? config.options.broker.password;
    // The database URL comes from the environment only (YOTO_DATABASE_URL): GET shows it without its
    // password, so what comes back here cannot be used; it is neither saved nor counted as a change.
    const { databaseUrl: _shownWithoutPassword, ...settings } = body;
    const next: HubConfig = { ...settings, broker: { ...body.broker, ...(password ? { password } : {}) } };
    await writeJsonAtomic(file, next);
    const restartRequired = changedPaths({ ...config.options, databaseUrl: undefined }, next);
    logger.info('hub settings saved', { file, changed: restartRequired, by: user.id });
    res.json({ saved: true, file, restartRequired, config: redactSecrets(next) });
  });

  return router;
}

/** A copy without secret values: keys marked writeOnly in hub-config.schema.json, keys named like secrets, credentials in URLs. */
export function redactSecrets<T>(value: T): T {
  const writeOnly = writeOnlyKeys();
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redactUrlCredentials(node);
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node !== 'object' || node === null) return node;
    const result: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      if (writeOnly.has(key) || SECRET_KEY.test(key)) continue;
      result[key] = walk(child);
    }
    return result;
  };
  return walk(value) as T;
}

/**
 * `incoming` with every string that carries the redaction mark replaced by the
 * value at the same path in the first of `sources` that redacts to it: the
 * settings GET answered, sent back unchanged, keep their credentials. A
 * redacted string that matches none cannot be used, and is refused.
 */
export function keepShownCredentials<T>(incoming: T, sources: readonly unknown[]): T {
  const at = (source: unknown, keys: readonly string[]): unknown =>
    keys.reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), source);
  const walk = (node: unknown, keys: string[]): unknown => {
    if (typeof node === 'string') {
      if (!node.includes(REDACTED)) return node;
      for (const source of sources) {
        const value = at(source, keys);
        if (typeof value === 'string' && redactUrlCredentials(value) === node) return value;
      }
      throw new ApiError(400, 'validation_failed', 'a redacted value can only be sent back unchanged; write the credentials in full to change them', [
        { path: `/${keys.join('/')}`, message: `holds ${REDACTED} but differs from the value in use` },
      ]);
    }
    // Settings are a few levels deep: anything deeper is not a setting (validation refuses it) and is not walked.
    if (typeof node !== 'object' || node === null || keys.length >= MAX_SETTINGS_DEPTH) return node;
    if (Array.isArray(node)) return node.map((child, index) => walk(child, [...keys, String(index)]));
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child, [...keys, key])]));
  };
  return walk(incoming, []) as T;
}

/** Dotted paths of the leaves that differ between two settings objects. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(a) || !isObject(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '/'];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((key) => changedPaths(a[key], b[key], prefix ? `${prefix}.${key}` : key));
}

let cachedWriteOnly: Set<string> | undefined;
function writeOnlyKeys(): Set<string> {
  if (cachedWriteOnly) return cachedWriteOnly;
  const keys = new Set<string>();
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const properties = (node as { properties?: unknown }).properties;
    if (typeof properties === 'object' && properties !== null) {
      for (const [key, schema] of Object.entries(properties)) {
        if (typeof schema === 'object' && schema !== null && (schema as { writeOnly?: unknown }).writeOnly === true) keys.add(key);
      }
    }
    for (const child of Object.values(node)) walk(child);
  };
  walk(getValidator().schema('hub-config'));
  cachedWriteOnly = keys;
  return keys;
}

async function readSaved(file: string, logger: Logger): Promise<HubConfig | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const check = getValidator().check('hub-config', JSON.parse(text));
    if (check.ok) return check.value;
    logger.warn('the saved hub settings are invalid and ignored', { file, reason: check.error.message });
  } catch (error) {
    logger.warn('the saved hub settings are not JSON and ignored', { file, err: error });
  }
  return undefined;
}

