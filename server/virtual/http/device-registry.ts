import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { YotoDevice, YotoDeviceConfig, YotoDeviceConfigDevice } from '../../yoto/rest/types';
import { PersistedJson } from '../cards/persisted-json';
import type { VirtualFleet, VirtualPlayerSpec } from '../contracts';
import { VirtualHttpError } from './errors';

/** A player's settings as a new Yoto player ships with them (values are strings on the wire, as Yoto sends them). */
export const DEFAULT_DEVICE_CONFIG: Required<YotoDeviceConfig> = {
  alarms: [],
  ambientColour: '#40bfd9',
  bluetoothEnabled: '1',
  btHeadphonesEnabled: true,
  clockFace: 'digital-sun',
  dayDisplayBrightness: 'auto',
  dayTime: '07:00',
  dayYotoDaily: '',
  dayYotoRadio: '',
  daySoundsOff: '0',
  displayDimBrightness: '0',
  displayDimTimeout: '60',
  headphonesVolumeLimited: false,
  hourFormat: '12',
  locale: 'en',
  logLevel: 'none',
  maxVolumeLimit: '16',
  nightAmbientColour: '#f57399',
  nightDisplayBrightness: '100',
  nightMaxVolumeLimit: '10',
  nightTime: '19:30',
  nightYotoDaily: '',
  nightYotoRadio: '0',
  nightSoundsOff: '1',
  pausePowerButton: true,
  pauseVolumeDown: false,
  repeatAll: false,
  showDiagnostics: false,
  shutdownTimeout: '3600',
  systemVolume: '100',
  timezone: '',
  volumeLevel: 'safe',
};

type Rule = (value: unknown) => string | undefined | { value: unknown };

const intString = (min: number, max: number): Rule => (value) => {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) return `must be a whole number from ${min} to ${max} as a string, e.g. "${max}"`;
  const number = Number(text);
  if (number < min || number > max) return `must be from ${min} to ${max} (got ${text})`;
  return { value: text };
};
const brightness: Rule = (value) => (value === 'auto' ? undefined : intString(0, 100)(value));
const oneOf = (...allowed: string[]): Rule => (value) =>
  typeof value === 'string' && allowed.includes(value) ? undefined : `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
/** "#0" is how the real cloud and app write the night light off. */
const colour: Rule = (value) => (typeof value === 'string' && /^#([0-9a-fA-F]{6}|0)$/.test(value) ? undefined : 'must be a colour like "#40bfd9", or "#0" for off');
const time: Rule = (value) => (typeof value === 'string' && /^([01]\d|2[0-3]):[0-5]\d$/.test(value) ? undefined : 'must be a time like "07:00" (24-hour)');
const bool: Rule = (value) => (typeof value === 'boolean' ? undefined : 'must be true or false');
const text: Rule = (value) => (typeof value === 'string' && value.length <= 200 ? undefined : 'must be a string');
const alarms: Rule = (value) => (Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? undefined : 'must be an array of alarm strings');

const CONFIG_RULES: Record<keyof YotoDeviceConfig, Rule> = {
  alarms,
  ambientColour: colour,
  bluetoothEnabled: oneOf('0', '1'),
  btHeadphonesEnabled: bool,
  clockFace: text,
  dayDisplayBrightness: brightness,
  dayTime: time,
  dayYotoDaily: text,
  dayYotoRadio: text,
  daySoundsOff: oneOf('0', '1'),
  displayDimBrightness: intString(0, 100),
  displayDimTimeout: intString(0, 3600),
  headphonesVolumeLimited: bool,
  hourFormat: oneOf('12', '24'),
  locale: text,
  logLevel: text,
  maxVolumeLimit: intString(0, 16),
  nightAmbientColour: colour,
  nightDisplayBrightness: brightness,
  nightMaxVolumeLimit: intString(0, 16),
  nightTime: time,
  nightYotoDaily: text,
  nightYotoRadio: text,
  nightSoundsOff: oneOf('0', '1'),
  pausePowerButton: bool,
  pauseVolumeDown: bool,
  repeatAll: bool,
  showDiagnostics: bool,
  shutdownTimeout: intString(0, 86_400),
  systemVolume: intString(0, 100),
  timezone: text,
  volumeLevel: text,
};

interface DevicesFile {
  version: 1;
  devices: Record<string, { name?: string; config: YotoDeviceConfig }>;
}

/**
 * The account's players as the REST API sees them: identity from the specs,
 * online from the fleet, and the settings block that `PUT .../config`
 * replaces as a whole (settings left out go back to their defaults, as on
 * the real cloud, which is why the adapter reads, merges and writes).
 */
export class VirtualDeviceRegistry extends EventEmitter<{ config: [deviceId: string, config: YotoDeviceConfig] }> {
  private readonly settings = new Map<string, { name?: string; config: YotoDeviceConfig }>();
  private readonly file: PersistedJson<DevicesFile>;

  constructor(
    private readonly specs: VirtualPlayerSpec[],
    private readonly fleet: VirtualFleet,
    dataDir?: string,
  ) {
    super();
    this.file = new PersistedJson(dataDir ? path.join(dataDir, 'devices.json') : undefined);
  }

  async load(): Promise<void> {
    const stored = await this.file.read();
    for (const [deviceId, entry] of Object.entries(stored?.devices ?? {})) this.settings.set(deviceId, entry);
  }

  async flush(): Promise<void> {
    await this.file.flush();
  }

  list(): YotoDevice[] {
    return this.specs.map((spec) => this.describe(spec));
  }

  config(deviceId: string): YotoDeviceConfigDevice {
    const spec = this.requireSpec(deviceId);
    const device = this.describe(spec);
    return {
      deviceId: device.deviceId,
      name: device.name,
      deviceType: device.deviceType,
      deviceFamily: device.deviceFamily,
      deviceGroup: device.deviceGroup ?? '',
      online: device.online,
      fwVersion: spec.firmware,
      releaseChannelId: 'general',
      releaseChannelVersion: spec.firmware,
      geoTimezone: 'Europe/London',
      errorCode: null,
      config: { ...modelDefaults(spec), ...this.settings.get(deviceId)?.config },
    };
  }

  /** `PUT /device-v2/{id}/config`: validates, then replaces the whole settings block. */
  async replaceConfig(deviceId: string, body: unknown): Promise<void> {
    this.requireSpec(deviceId);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw VirtualHttpError.badRequest('the body must be a JSON object {name?, config}');
    const { name, config, deviceId: bodyDeviceId } = body as { name?: unknown; config?: unknown; deviceId?: unknown };
    if (bodyDeviceId !== undefined && bodyDeviceId !== deviceId) throw VirtualHttpError.badRequest(`deviceId in the body (${String(bodyDeviceId)}) is not ${deviceId}`);
    if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.length > 40)) {
      throw VirtualHttpError.badRequest('name must be a string of 1 to 40 characters', 'invalid_config');
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw VirtualHttpError.badRequest('config is required and must be an object (PUT replaces the whole config block)', 'invalid_config');
    }
    const checked = checkConfig(config as Record<string, unknown>);
    const previous = this.settings.get(deviceId);
    this.settings.set(deviceId, { ...(name !== undefined ? { name } : previous?.name ? { name: previous.name } : {}), config: checked });
    await this.file.write({ version: 1, devices: Object.fromEntries(this.settings) });
    this.emit('config', deviceId, this.config(deviceId).config);
  }

  private describe(spec: VirtualPlayerSpec): YotoDevice {
    const player = this.fleet.player(spec.deviceId);
    const customName = this.settings.get(spec.deviceId)?.name;
    return {
      deviceId: spec.deviceId,
      name: customName ?? spec.name,
      description: spec.name,
      online: player ? player.snapshot().online : false,
      releaseChannel: 'general',
      deviceType: spec.deviceType,
      deviceFamily: spec.deviceFamily,
      deviceGroup: '',
      generation: spec.deviceType === 'v3' ? 'gen3' : 'mini',
      formFactor: spec.deviceType === 'mini' ? 'mini' : 'standard',
      hasUserGivenName: customName !== undefined,
    };
  }

  private requireSpec(deviceId: string): VirtualPlayerSpec {
    const spec = this.specs.find((candidate) => candidate.deviceId === deviceId);
    if (!spec) throw VirtualHttpError.notFound(`device ${deviceId}`);
    return spec;
  }
}

/**
 * What a new player of this model ships with: the Mini has no light sensor
 * (its brightness is a number, never "auto") and no night light ("#0").
 */
function modelDefaults(spec: VirtualPlayerSpec): YotoDeviceConfig {
  const defaults: YotoDeviceConfig = { ...DEFAULT_DEVICE_CONFIG };
  if (spec.deviceType !== 'v3') defaults.dayDisplayBrightness = '100';
  if (!spec.hasNightLight) {
    defaults.ambientColour = '#0';
    defaults.nightAmbientColour = '#0';
  }
  return defaults;
}

function checkConfig(config: Record<string, unknown>): YotoDeviceConfig {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const rule = CONFIG_RULES[key as keyof YotoDeviceConfig];
    if (!rule) throw VirtualHttpError.badRequest(`config.${key} is not a setting Yoto players have`, 'invalid_config');
    const verdict = rule(value);
    if (typeof verdict === 'string') throw VirtualHttpError.badRequest(`config.${key} ${verdict} (got ${JSON.stringify(value)})`, 'invalid_config');
    result[key] = verdict && typeof verdict === 'object' ? verdict.value : value;
  }
  return result as YotoDeviceConfig;
}
