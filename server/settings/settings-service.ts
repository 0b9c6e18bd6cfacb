import { EventEmitter } from 'node:events';
import type { DeviceRegistry } from '../core/device-registry';
import { silentLogger, type Logger } from '../log/logger';
import type { YotoCloudApi } from '../yoto/rest/yoto-api';
import type { YotoDeviceConfig } from '../yoto/rest/types';
import {
  capabilitiesOf,
  completeAlarm,
  configChange,
  formatAlarm,
  parseAlarm,
  settingsFromConfig,
  SettingsError,
  type AlarmInput,
  type FieldProblem,
  type PlayerAlarm,
  type PlayerCapabilities,
  type PlayerSettings,
  type PlayerSettingsChange,
} from './model';

/** A player's settings with what its model can do. */
export interface PlayerSettingsView extends PlayerSettings {
  deviceId: string;
  capabilities: PlayerCapabilities;
  /** When the hub last read or wrote them (ISO 8601). */
  updatedAt: string;
}

export class SettingsUnavailableError extends Error {
  constructor(
    readonly code: 'unknown_device' | 'no_cloud' | 'alarm_not_found',
    message: string,
  ) {
    super(message);
    this.name = 'SettingsUnavailableError';
  }
}

export interface PlayerSettingsServiceOptions {
  /** The REST side of the cloud in use; undefined while none is connected. */
  api: () => YotoCloudApi | undefined;
  registry: DeviceRegistry;
  logger?: Logger;
  /** How long a read is served from the cache (default 5 minutes); writes refresh it at once. */
  cacheMs?: number;
  now?: () => number;
}

export interface PlayerSettingsEvents {
  /** Read or written: the settings as they now stand. */
  settings: [view: PlayerSettingsView];
}

/**
 * Player settings over the cloud's `/device-v2/{id}/config`: reads are
 * cached, every write is a read-merge-write queued per player (the cloud's
 * PUT replaces the whole block, so a write names only what changes and keeps
 * the rest), and alarm changes are worked out on the list just read.
 */
export class PlayerSettingsService extends EventEmitter<PlayerSettingsEvents> {
  private readonly logger: Logger;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { view: PlayerSettingsView; at: number }>();
  private readonly reads = new Map<string, { read: Promise<PlayerSettingsView>; generation: number }>();
  /** Player -> how many writes have been remembered (a read started before one must not overwrite it). */
  private readonly generations = new Map<string, number>();

  constructor(private readonly options: PlayerSettingsServiceOptions) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The last settings read, without asking the cloud. */
  cached(deviceId: string): PlayerSettingsView | undefined {
    return this.cache.get(deviceId)?.view;
  }

  capabilities(deviceId: string): PlayerCapabilities {
    const state = this.options.registry.get(deviceId);
    if (!state) throw new SettingsUnavailableError('unknown_device', `player ${deviceId} is not known to the hub`);
    return capabilitiesOf(state.model ?? state.deviceFamily, state.hasNightLight);
  }

  /** The player's settings: from the cache while fresh, else from the cloud. */
  async get(deviceId: string, options: { fresh?: boolean } = {}): Promise<PlayerSettingsView> {
    const capabilities = this.capabilities(deviceId);
    const cached = this.cache.get(deviceId);
    if (!options.fresh && cached && this.now() - cached.at < this.cacheMs) return cached.view;
    const generation = this.generations.get(deviceId) ?? 0;
    const pending = this.reads.get(deviceId);
    if (pending && pending.generation === generation) return pending.read;
    const read = (async () => {
      const device = await this.api().getDeviceConfig(deviceId);
      // A write that finished while this read was on its way has the newer config: a read must
      // not put an older one back (an alarm just added would vanish from the next answer).
      const written = (this.generations.get(deviceId) ?? 0) !== generation ? this.cache.get(deviceId) : undefined;
      return written ? written.view : this.remember(deviceId, device.config, capabilities);
    })();
    this.reads.set(deviceId, { read, generation });
    try {
      return await read;
    } finally {
      if (this.reads.get(deviceId)?.read === read) this.reads.delete(deviceId);
    }
  }

  /** Changes the named settings and keeps every other one. */
  async update(deviceId: string, change: PlayerSettingsChange): Promise<PlayerSettingsView> {
    const capabilities = this.capabilities(deviceId);
    if (typeof change !== 'object' || change === null || Array.isArray(change)) throw new SettingsError('send a JSON object of settings to change', []);
    const configPart = configChange(change, capabilities);
    const config = await this.api().updateDeviceConfigWith(deviceId, () => configPart);
    this.logger.info('player settings changed', { deviceId, settings: Object.keys(change) });
    return this.rememberWritten(deviceId, config, capabilities);
  }

  async addAlarm(deviceId: string, input: AlarmInput): Promise<{ alarm: PlayerAlarm; settings: PlayerSettingsView }> {
    const capabilities = this.capabilities(deviceId);
    const alarm = checkedAlarm(input, undefined);
    let id = -1;
    const config = await this.api().updateDeviceConfigWith(deviceId, (current) => {
      const alarms = [...(current.alarms ?? [])];
      id = alarms.length;
      alarms.push(formatAlarm(alarm));
      return { alarms };
    });
    const settings = this.rememberWritten(deviceId, config, capabilities);
    return { alarm: { id, ...alarm }, settings };
  }

  /** Changes some fields of alarm `id` (its position); fields the hub does not know are kept. */
  async updateAlarm(deviceId: string, id: number, input: AlarmInput): Promise<{ alarm: PlayerAlarm; settings: PlayerSettingsView }> {
    const capabilities = this.capabilities(deviceId);
    let changed: PlayerAlarm | undefined;
    const config = await this.api().updateDeviceConfigWith(deviceId, (current) => {
      const alarms = [...(current.alarms ?? [])];
      const previous = alarms[id];
      const base = previous === undefined ? undefined : parseAlarm(previous, id);
      if (!base || previous === undefined) throw alarmNotFound(deviceId, id);
      const alarm = checkedAlarm(input, base);
      alarms[id] = formatAlarm(alarm, previous);
      changed = { id, ...alarm };
      return { alarms };
    });
    const settings = this.rememberWritten(deviceId, config, capabilities);
    return { alarm: changed!, settings };
  }

  async deleteAlarm(deviceId: string, id: number): Promise<PlayerSettingsView> {
    const capabilities = this.capabilities(deviceId);
    const config = await this.api().updateDeviceConfigWith(deviceId, (current) => {
      const alarms = [...(current.alarms ?? [])];
      if (!Number.isInteger(id) || id < 0 || id >= alarms.length) throw alarmNotFound(deviceId, id);
      alarms.splice(id, 1);
      return { alarms };
    });
    return this.rememberWritten(deviceId, config, capabilities);
  }

  /** Forgets a player (it left the account). */
  forget(deviceId: string): void {
    this.cache.delete(deviceId);
  }

  clear(): void {
    this.cache.clear();
  }

  private api(): YotoCloudApi {
    const api = this.options.api();
    if (!api) throw new SettingsUnavailableError('no_cloud', 'the hub is not connected to a Yoto cloud, so player settings cannot be read or changed');
    return api;
  }

  /** After a write: the config the cloud answered it with is the newest. */
  private rememberWritten(deviceId: string, config: YotoDeviceConfig, capabilities: PlayerCapabilities): PlayerSettingsView {
    this.generations.set(deviceId, (this.generations.get(deviceId) ?? 0) + 1);
    return this.remember(deviceId, config, capabilities);
  }

  private remember(deviceId: string, config: YotoDeviceConfig, capabilities: PlayerCapabilities): PlayerSettingsView {
    const at = this.now();
    const view: PlayerSettingsView = {
      deviceId,
      ...settingsFromConfig(config, capabilities),
      capabilities,
      updatedAt: new Date(at).toISOString(),
    };
    this.cache.set(deviceId, { view, at });
    this.emit('settings', view);
    return view;
  }
}

function checkedAlarm(input: AlarmInput, base: PlayerAlarm | undefined): Omit<PlayerAlarm, 'id'> {
  const problems: FieldProblem[] = [];
  const alarm = completeAlarm(input, base, '', problems);
  if (!alarm) throw new SettingsError(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
  return alarm;
}

function alarmNotFound(deviceId: string, id: number): SettingsUnavailableError {
  return new SettingsUnavailableError('alarm_not_found', `player ${deviceId} has no alarm ${id}`);
}
