import * as path from 'node:path';
import proxyaddr from 'proxy-addr';
import { ObjectCacheConfigError, objectCacheSettings } from '../library/object-cache';
import { ObjectStoreUrlError, parseObjectStoreUrl } from '../library/object-store-url';
import { isLogLevel, type LogLevel } from '../log/logger';
import type { HubCloudConfig, HubConfig } from '../types/schemas';
import { DEFAULT_SCOPES, isScope, parseScopes } from '../yoto/auth/scopes';

/**
 * Everything a Hub needs to start: the `hub-config` schema's type. Built by
 * `resolveHubOptions` from what a surface gives (the yoto-hub node's
 * settings, the CLI) and the environment, in that order of precedence, then
 * the defaults below.
 */
export type HubOptions = HubConfig;
export type CloudMode = HubCloudConfig['mode'];

/** What a surface may set; blank strings count as "not set". */
export interface HubSettings {
  dataDir?: string;
  /** postgres://... : the store (records, events) on PostgreSQL; blank: the embedded store in dataDir. */
  databaseUrl?: string;
  httpHost?: string;
  httpPort?: number | string;
  publicUrl?: string;
  /** Space- or comma-separated addresses, CIDR ranges or loopback/linklocal/uniquelocal, or a list: proxies whose X-Forwarded-For is believed. */
  trustedProxies?: string | string[];
  brokerUrl?: string;
  brokerUsername?: string;
  brokerPassword?: string;
  embeddedBrokerHost?: string;
  embeddedBrokerPort?: number | string;
  embeddedBrokerAnonymous?: string;
  embeddedBrokerTlsPort?: number | string;
  embeddedBrokerTlsCert?: string;
  embeddedBrokerTlsKey?: string;
  logLevel?: string;
  cloudMode?: string;
  clientId?: string;
  virtualCloudHost?: string;
  virtualCloudPort?: number | string;
  signInPort?: number | string;
  /** Space- or comma-separated, or a list. */
  scopes?: string | string[];
  virtualPlayers?: number | string;
  /** Space- or comma-separated origins, or a list; "*" for any. */
  virtualStreamOrigins?: string | string[];
  yotoAuthUrl?: string;
  yotoApiUrl?: string;
  yotoMqttUrl?: string;
  /** true/false (or on/off, yes/no, 1/0); blank: YOTO_DEMO_CONTENT, else off. */
  demoContent?: boolean | string;
  /** Text to speech: default engine (espeak), voice, language, MaryTTS server URL, cache max age in days. */
  ttsEngine?: string;
  ttsVoice?: string;
  ttsLanguage?: string;
  ttsUrl?: string;
  ttsCacheDays?: number | string;
  /** Several hub instances (README "Several hub instances"): the Redis server they share, this instance's name, the leader's lease. */
  redisUrl?: string;
  instanceId?: string;
  instanceUrl?: string;
  leaderLeaseMs?: number | string;
  /** s3://[KEY_ID:SECRET@]bucket[/prefix]?endpoint=...&region=...&forcePathStyle=...: audio in a bucket (server/library/object-store-url.ts). */
  objectStoreUrl?: string;
}

export const DEFAULTS = {
  httpHost: '127.0.0.1',
  httpPort: 1881,
  embeddedBrokerHost: '127.0.0.1',
  embeddedBrokerPort: 1883,
  embeddedBrokerAnonymous: 'house' as const,
  embeddedBrokerTlsPort: 8883,
  logLevel: 'info' as LogLevel,
  cloudMode: 'auto' as CloudMode,
  virtualCloudHost: '127.0.0.1',
  virtualCloudPort: 1882,
  signInPort: 1884,
  scopes: DEFAULT_SCOPES,
  virtualPlayers: 3,
  demoContent: false,
  ttsEngine: 'espeak' as const,
  ttsLanguage: 'en',
  ttsCacheDays: 30,
  leaderLeaseMs: 10_000,
};

/** The text-to-speech engines a hub may default to. */
export const TTS_ENGINES = ['espeak', 'marytts'] as const;

/** The most players the virtual cloud simulates. */
export const MAX_VIRTUAL_PLAYERS = 100;

/** Environment variables the hub reads; the README's configuration table lists the same. */
export const ENV = {
  dataDir: 'YOTO_DATA_DIR',
  databaseUrl: 'YOTO_DATABASE_URL',
  httpHost: 'YOTO_HUB_HOST',
  httpPort: 'YOTO_HUB_PORT',
  publicUrl: 'YOTO_PUBLIC_URL',
  trustedProxies: 'YOTO_TRUSTED_PROXIES',
  brokerUrl: 'YOTO_BROKER_URL',
  brokerUsername: 'YOTO_BROKER_USERNAME',
  brokerPassword: 'YOTO_BROKER_PASSWORD',
  embeddedBrokerHost: 'YOTO_BROKER_HOST',
  embeddedBrokerPort: 'YOTO_BROKER_PORT',
  embeddedBrokerAnonymous: 'YOTO_BROKER_ANONYMOUS',
  embeddedBrokerTlsPort: 'YOTO_BROKER_TLS_PORT',
  embeddedBrokerTlsCert: 'YOTO_BROKER_TLS_CERT',
  embeddedBrokerTlsKey: 'YOTO_BROKER_TLS_KEY',
  logLevel: 'YOTO_LOG_LEVEL',
  cloudMode: 'YOTO_CLOUD',
  clientId: 'YOTO_CLIENT_ID',
  virtualCloudHost: 'YOTO_VIRTUAL_CLOUD_HOST',
  virtualCloudPort: 'YOTO_VIRTUAL_CLOUD_PORT',
  signInPort: 'YOTO_SIGNIN_PORT',
  scopes: 'YOTO_SCOPES',
  virtualPlayers: 'YOTO_VIRTUAL_PLAYERS',
  virtualStreamOrigins: 'YOTO_VIRTUAL_STREAM_ORIGINS',
  yotoAuthUrl: 'YOTO_AUTH_URL',
  yotoApiUrl: 'YOTO_API_URL',
  yotoMqttUrl: 'YOTO_MQTT_URL',
  demoContent: 'YOTO_DEMO_CONTENT',
  ttsEngine: 'YOTO_TTS_ENGINE',
  ttsVoice: 'YOTO_TTS_VOICE',
  ttsLanguage: 'YOTO_TTS_LANGUAGE',
  ttsUrl: 'YOTO_TTS_URL',
  ttsCacheDays: 'YOTO_TTS_CACHE_DAYS',
  redisUrl: 'YOTO_REDIS_URL',
  instanceId: 'YOTO_INSTANCE_ID',
  instanceUrl: 'YOTO_INSTANCE_URL',
  leaderLeaseMs: 'YOTO_LEADER_LEASE_MS',
  objectStoreUrl: 'YOTO_OBJECT_STORE_URL',
} as const;

export class HubConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(message: string) {
    super(message);
    this.name = 'HubConfigError';
  }
}

function pick(setting: unknown, envValue: string | undefined): string | undefined {
  if (Array.isArray(setting)) setting = setting.join(' ');
  if (setting !== undefined && setting !== null && String(setting).trim() !== '') return String(setting).trim();
  if (envValue !== undefined && envValue.trim() !== '') return envValue.trim();
  return undefined;
}

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new HubConfigError(`${name} must be a port number from 0 to 65535, got "${value}"`);
  }
  return n;
}

function url(name: string, value: string | undefined, protocols: string[]): string | undefined {
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new HubConfigError(`${name} must be a URL such as ${protocols[0]}//host:port, got "${value}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new HubConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return value;
}

function count(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HubConfigError(`${name} must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

function scopeList(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULTS.scopes];
  const scopes = parseScopes(value);
  const bad = scopes.find((scope) => !isScope(scope));
  if (bad !== undefined) throw new HubConfigError(`Yoto scopes are words like family:devices:control separated by spaces, got "${bad}"`);
  if (scopes.length === 0) throw new HubConfigError('the Yoto scope list is empty; leave it unset for the default list');
  return scopes;
}

function originList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const origins = parseScopes(value);
  return origins.map((origin) => {
    if (origin === '*') return origin;
    try {
      const parsed = new URL(origin);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
      return parsed.origin;
    } catch {
      throw new HubConfigError(`virtual stream origins must be http(s) origins such as https://media.example.com, or *, got "${origin}"`);
    }
  });
}

/** The proxies a hub believes X-Forwarded-For from, checked as Express's `trust proxy` reads them. */
function proxyList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const proxies = parseScopes(value);
  try {
    proxyaddr.compile(proxies);
  } catch (error) {
    throw new HubConfigError(`trusted proxies must be IP addresses, CIDR ranges or loopback, linklocal, uniquelocal (YOTO_TRUSTED_PROXIES): ${(error as Error).message}`);
  }
  return proxies;
}

function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const text = value.toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(text)) return true;
  if (['false', 'off', 'no', '0'].includes(text)) return false;
  throw new HubConfigError(`${name} must be true or false, got "${value}"`);
}

function ttsOptions(get: (key: keyof typeof ENV) => string | undefined): NonNullable<HubOptions['tts']> {
  const engine = get('ttsEngine') ?? DEFAULTS.ttsEngine;
  if (!(TTS_ENGINES as readonly string[]).includes(engine)) throw new HubConfigError(`the text-to-speech engine must be ${TTS_ENGINES.join(' or ')}, got "${engine}"`);
  const voice = get('ttsVoice');
  if (voice !== undefined && !/^[A-Za-z0-9_.:#+-]{1,100}$/.test(voice)) throw new HubConfigError(`a text-to-speech voice is a name such as en-gb or en-us+f3, got "${voice}"`);
  const language = get('ttsLanguage') ?? DEFAULTS.ttsLanguage;
  if (!/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/.test(language)) throw new HubConfigError(`the text-to-speech language is a tag such as en, en-GB or fr, got "${language}"`);
  const ttsUrl = url('text-to-speech server URL', get('ttsUrl'), ['http:', 'https:']);
  const cacheMaxAgeDays = count('text-to-speech cache days', get('ttsCacheDays'), DEFAULTS.ttsCacheDays, 3650);
  if (engine === 'marytts' && !ttsUrl) throw new HubConfigError('the marytts text-to-speech engine needs the address of its server (YOTO_TTS_URL), e.g. http://opentts.local:5500');
  return {
    engine: engine as (typeof TTS_ENGINES)[number],
    ...(voice ? { voice } : {}),
    language,
    ...(ttsUrl ? { url: ttsUrl } : {}),
    cacheMaxAgeDays,
  };
}

function clusterOptions(get: (key: keyof typeof ENV) => string | undefined, brokerUrl: string | undefined): HubOptions['cluster'] {
  const redisUrl = url('Redis URL', get('redisUrl'), ['redis:', 'rediss:']);
  if (redisUrl === undefined) return undefined;
  // Every instance must bridge the same house and follow the same players: the embedded broker is one per instance.
  if (brokerUrl === undefined) throw new HubConfigError('several hub instances (YOTO_REDIS_URL) need a shared home broker: set YOTO_BROKER_URL (e.g. mqtt://mosquitto:1883)');
  const instanceId = get('instanceId');
  if (instanceId !== undefined && !/^[A-Za-z0-9_.:-]{1,100}$/.test(instanceId)) throw new HubConfigError(`the instance id is a name of letters, digits, _ . : -, got "${instanceId}"`);
  const instanceUrl = url('instance URL', get('instanceUrl'), ['http:', 'https:']);
  const leaseText = get('leaderLeaseMs');
  const leaseMs = leaseText === undefined ? DEFAULTS.leaderLeaseMs : Number(leaseText);
  if (!Number.isInteger(leaseMs) || leaseMs < 1000 || leaseMs > 10_000) throw new HubConfigError(`the leader's lease is a whole number of milliseconds from 1000 to 10000, got "${leaseText}"`);
  return { redisUrl, ...(instanceId ? { instanceId } : {}), ...(instanceUrl ? { instanceUrl } : {}), leaseMs };
}

/**
 * @param settings what the surface configured (blank = not set)
 * @param defaultDataDir where data lives when neither the settings nor YOTO_DATA_DIR say
 */
export function resolveHubOptions(
  settings: HubSettings,
  defaultDataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): HubOptions {
  const get = (key: keyof typeof ENV): string | undefined => pick(settings[key], env[ENV[key]]);
  const logLevel = get('logLevel') ?? DEFAULTS.logLevel;
  if (!isLogLevel(logLevel)) throw new HubConfigError(`log level must be debug, info, warn or error, got "${logLevel}"`);
  const publicUrl = url('public URL', get('publicUrl'), ['http:', 'https:']);
  const trustedProxies = proxyList(get('trustedProxies'));
  const brokerUrl = url('broker URL', get('brokerUrl'), ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']);
  const databaseUrl = url('database URL (YOTO_DATABASE_URL)', get('databaseUrl'), ['postgres:', 'postgresql:']);
  const cloudMode = get('cloudMode') ?? DEFAULTS.cloudMode;
  if (cloudMode !== 'auto' && cloudMode !== 'virtual' && cloudMode !== 'yoto') {
    throw new HubConfigError(`cloud mode must be auto, virtual or yoto, got "${cloudMode}"`);
  }
  const clientId = get('clientId');
  if (cloudMode === 'yoto' && !clientId) {
    throw new HubConfigError('cloud mode "yoto" needs a Yoto client id (YOTO_CLIENT_ID), registered at the Yoto developer dashboard');
  }
  const scopes = scopeList(get('scopes'));
  const virtualPlayers = count('virtual players', get('virtualPlayers'), DEFAULTS.virtualPlayers, MAX_VIRTUAL_PLAYERS);
  const virtualStreamOrigins = originList(get('virtualStreamOrigins'));
  const yotoAuthUrl = url('Yoto login URL', get('yotoAuthUrl'), ['http:', 'https:']);
  const yotoApiUrl = url('Yoto API URL', get('yotoApiUrl'), ['http:', 'https:']);
  const yotoMqttUrl = url('Yoto MQTT URL', get('yotoMqttUrl'), ['wss:', 'ws:', 'mqtt:', 'mqtts:']);
  const anonymous = get('embeddedBrokerAnonymous') ?? DEFAULTS.embeddedBrokerAnonymous;
  if (anonymous !== 'house' && anonymous !== 'off') throw new HubConfigError(`embedded broker anonymous access must be house or off, got "${anonymous}"`);
  const tlsCert = get('embeddedBrokerTlsCert');
  const tlsKey = get('embeddedBrokerTlsKey');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new HubConfigError('the embedded broker needs both YOTO_BROKER_TLS_CERT and YOTO_BROKER_TLS_KEY for TLS, or neither');
  }
  const tts = ttsOptions(get);
  const cluster = clusterOptions(get, brokerUrl);
  const objectStoreUrl = get('objectStoreUrl');
  if (objectStoreUrl !== undefined) {
    try {
      parseObjectStoreUrl(objectStoreUrl);
    } catch (error) {
      if (error instanceof ObjectStoreUrlError) throw new HubConfigError(error.message);
      throw error;
    }
    // The local copies' size and check interval (read by the bucket storage from the environment): a bad value stops the start here.
    try {
      objectCacheSettings(env);
    } catch (error) {
      if (error instanceof ObjectCacheConfigError) throw new HubConfigError(error.message);
      throw error;
    }
  }
  const username = get('brokerUsername');
  const password = get('brokerPassword');
  return {
    dataDir: path.resolve(get('dataDir') ?? defaultDataDir),
    ...(databaseUrl ? { databaseUrl } : {}),
    http: {
      host: get('httpHost') ?? DEFAULTS.httpHost,
      port: port('hub port', get('httpPort'), DEFAULTS.httpPort),
      ...(publicUrl ? { publicUrl } : {}),
      ...(trustedProxies?.length ? { trustedProxies } : {}),
    },
    broker: {
      ...(brokerUrl ? { url: brokerUrl } : {}),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      embedded: {
        host: get('embeddedBrokerHost') ?? DEFAULTS.embeddedBrokerHost,
        port: port('embedded broker port', get('embeddedBrokerPort'), DEFAULTS.embeddedBrokerPort),
        anonymous,
        ...(tlsCert && tlsKey
          ? { tls: { port: port('embedded broker TLS port', get('embeddedBrokerTlsPort'), DEFAULTS.embeddedBrokerTlsPort), certFile: path.resolve(tlsCert), keyFile: path.resolve(tlsKey) } }
          : {}),
      },
    },
    cloud: {
      mode: cloudMode,
      ...(clientId ? { clientId } : {}),
      virtualHost: get('virtualCloudHost') ?? DEFAULTS.virtualCloudHost,
      virtualPort: port('virtual cloud port', get('virtualCloudPort'), DEFAULTS.virtualCloudPort),
      signInPort: port('sign-in port', get('signInPort'), DEFAULTS.signInPort),
      scopes,
      virtualPlayers,
      ...(virtualStreamOrigins ? { virtualStreamOrigins } : {}),
      ...(yotoAuthUrl ? { yotoAuthUrl } : {}),
      ...(yotoApiUrl ? { yotoApiUrl } : {}),
      ...(yotoMqttUrl ? { yotoMqttUrl } : {}),
    },
    demoContent: flag('demo content', get('demoContent'), DEFAULTS.demoContent),
    tts,
    ...(cluster ? { cluster } : {}),
    ...(objectStoreUrl !== undefined ? { objectStoreUrl } : {}),
    logLevel,
  };
}
