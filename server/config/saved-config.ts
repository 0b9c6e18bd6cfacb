import * as fs from 'node:fs';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../log/logger';
import type { HubConfig } from '../types/schemas';
import { getValidator } from '../validation';
import { ENV, resolveHubOptions, type HubOptions, type HubSettings } from './hub-options';

/** The file PUT /api/system/config writes in the data directory (same name as server/system/config-routes.ts). */
export const SAVED_CONFIG_FILE = 'hub-config.json';

export function savedConfigPath(dataDir: string): string {
  return path.join(dataDir, SAVED_CONFIG_FILE);
}

/**
 * Reads `<dataDir>/hub-config.json` as PUT /api/system/config wrote it. No
 * file: undefined, silently. A file that is not JSON or not a valid
 * hub-config: a warning naming the file and why, and undefined (the hub
 * starts with its other settings rather than not at all). Synchronous, so
 * the surfaces can call it where they resolve their options.
 */
export function loadSavedHubConfig(dataDir: string, logger: Logger = silentLogger): HubConfig | undefined {
  const file = savedConfigPath(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn(`the saved hub settings in ${file} cannot be read and are ignored`, { file, err: error });
    }
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    logger.warn(`the saved hub settings in ${file} are not valid JSON and are ignored: ${(error as Error).message}`, { file });
    return undefined;
  }
  const check = getValidator().check('hub-config', parsed);
  if (!check.ok) {
    logger.warn(`the saved hub settings in ${file} are invalid and are ignored: ${check.error.message}`, { file });
    return undefined;
  }
  return check.value;
}

/**
 * The saved config as surface settings (HubSettings keys). `dataDir` is never
 * taken from the file: the file lives in the data directory, so the folder it
 * was found in is the data directory. Settings the file leaves out (no
 * external broker URL, no public URL, no client id, no broker user) say
 * nothing, so the environment may still give them.
 */
export function savedConfigSettings(saved: HubConfig): HubSettings {
  const { http, broker, cloud, tts } = saved;
  const tls = broker.embedded.tls;
  const settings: { [K in keyof HubSettings]: HubSettings[K] | undefined } = {
    httpHost: http.host,
    httpPort: http.port,
    publicUrl: http.publicUrl,
    trustedProxies: http.trustedProxies,
    brokerUrl: broker.url,
    brokerUsername: broker.username,
    brokerPassword: broker.password,
    embeddedBrokerHost: broker.embedded.host,
    embeddedBrokerPort: broker.embedded.port,
    embeddedBrokerAnonymous: broker.embedded.anonymous,
    embeddedBrokerTlsPort: tls?.port,
    embeddedBrokerTlsCert: tls?.certFile,
    embeddedBrokerTlsKey: tls?.keyFile,
    logLevel: saved.logLevel,
    cloudMode: cloud.mode,
    clientId: cloud.clientId,
    virtualCloudHost: cloud.virtualHost,
    virtualCloudPort: cloud.virtualPort,
    signInPort: cloud.signInPort,
    scopes: cloud.scopes,
    virtualPlayers: cloud.virtualPlayers,
    virtualStreamOrigins: cloud.virtualStreamOrigins,
    yotoAuthUrl: cloud.yotoAuthUrl,
    yotoApiUrl: cloud.yotoApiUrl,
    yotoMqttUrl: cloud.yotoMqttUrl,
    demoContent: saved.demoContent,
    objectStoreUrl: saved.objectStoreUrl,
    ttsEngine: tts?.engine,
    ttsVoice: tts?.voice,
    ttsLanguage: tts?.language,
    ttsUrl: tts?.url,
    ttsCacheDays: tts?.cacheMaxAgeDays,
  };
  // What the file leaves out says nothing: the environment may still give it.
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as HubSettings;
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null && String(value).trim() !== '';

/**
 * Merges the surface's settings with the saved config: a setting the surface
 * gives explicitly (not blank) wins; otherwise the saved value is used. The
 * result goes to resolveHubOptions, which then fills what is still unset from
 * the environment, then the defaults. Precedence:
 *   surface (node editor / CLI) > saved config > environment > defaults.
 */
export function mergeSavedSettings(settings: HubSettings, saved: HubConfig | undefined): HubSettings {
  if (!saved) return { ...settings };
  const merged: HubSettings = { ...savedConfigSettings(saved) };
  for (const key of Object.keys(settings) as Array<keyof HubSettings>) {
    const value = settings[key];
    if (isSet(value)) (merged as Record<string, unknown>)[key] = value;
  }
  // dataDir is the surface's or nobody's: never from the file.
  if (isSet(settings.dataDir)) merged.dataDir = settings.dataDir;
  else delete merged.dataDir;
  return merged;
}

/** Where the data directory is before any file is read: surface > YOTO_DATA_DIR > the default. */
export function resolveDataDir(settings: HubSettings, defaultDataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (isSet(settings.dataDir)) return path.resolve(String(settings.dataDir).trim());
  const fromEnv = env[ENV.dataDir];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv.trim());
  return path.resolve(defaultDataDir);
}

/**
 * resolveHubOptions with the saved config applied: finds the data directory,
 * reads its hub-config.json (if any, warning about and ignoring a broken one),
 * merges and resolves. A drop-in for the surfaces' resolveHubOptions calls.
 */
export function resolveHubOptionsWithSaved(
  settings: HubSettings,
  defaultDataDir: string,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = silentLogger,
): HubOptions {
  const dataDir = resolveDataDir(settings, defaultDataDir, env);
  const saved = loadSavedHubConfig(dataDir, logger);
  if (saved) logger.info('using the hub settings saved in the data directory', { file: savedConfigPath(dataDir) });
  return resolveHubOptions({ ...mergeSavedSettings(settings, saved), dataDir }, defaultDataDir, env);
}
