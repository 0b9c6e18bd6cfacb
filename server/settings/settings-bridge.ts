import type { BrokerState, HomeBrokerClient } from '../broker/home-broker-client';
import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import type { HomeAssistantOptions } from '../bridge/home-assistant';
import { DEFAULT_TOPIC_PREFIX, isTopicSafeId } from '../bridge/topics';
import { silentLogger, type Logger } from '../log/logger';
import { getValidator, type Validator } from '../validation';
import type { AlarmInput, PlayerSettingsChange } from './model';
import { settingsDiscoveryConfigs, settingsTopics } from './home-assistant-settings';
import { settingsApiError } from './routes';
import type { PlayerSettingsService, PlayerSettingsView } from './settings-service';

export interface SettingsBridgeOptions {
  broker: HomeBrokerClient;
  registry: DeviceRegistry;
  settings: PlayerSettingsService;
  /** Titles for Home Assistant's card picker (the family library); none: no picker. */
  cardTitles?: () => Promise<string[]>;
  logger?: Logger;
  topicPrefix?: string;
  homeAssistant?: { enabled?: boolean; discoveryPrefix?: string; origin?: HomeAssistantOptions['origin'] };
  validator?: Validator;
  now?: () => Date;
}

/** How often the card picker's titles are read again (cards added): the family library's own cache time. */
const TITLES_REFRESH_MS = 5 * 60_000;

/**
 * Player settings on the home broker: retained `yoto/{id}/settings`, changes
 * on `yoto/{id}/settings/set` (partial JSON) and `yoto/{id}/settings/alarms/{n}/set`,
 * each answered on `yoto/{id}/events` with `settings_updated` or
 * `command_rejected`; and the Home Assistant entities of the settings.
 */
export class SettingsBridge {
  private readonly logger: Logger;
  private readonly prefix: string;
  private readonly validator: Validator;
  private readonly now: () => Date;
  private readonly cleanups: Array<() => void> = [];
  /** Retained topic -> content last published (timestamps aside). */
  private readonly retained = new Map<string, string>();
  private readonly haTopics = new Map<string, Set<string>>();
  private titles: string[] = [];
  private running = false;

  constructor(private readonly options: SettingsBridgeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.prefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    this.validator = options.validator ?? getValidator();
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { broker, registry, settings } = this.options;
    this.cleanups.push(broker.subscribe(`${this.prefix}/+/settings/set`, (topic, payload) => this.onSet(topic, payload)));
    this.cleanups.push(broker.subscribe(`${this.prefix}/+/settings/alarms/+/set`, (topic, payload) => this.onAlarmSet(topic, payload)));
    const onSettings = (view: PlayerSettingsView): void => this.publish(view.deviceId, false);
    const onAdded = (state: DeviceState): void => this.load(state.deviceId);
    const onRemoved = (deviceId: string): void => this.remove(deviceId);
    const onState = (state: DeviceState, previous: DeviceState): void => {
      if (state.name !== previous.name || state.model !== previous.model || state.firmware !== previous.firmware) this.publish(state.deviceId, false);
    };
    const onBroker = (state: BrokerState): void => {
      if (state === 'connected') this.republish();
    };
    settings.on('settings', onSettings);
    registry.bus.on(this, 'device-added', onAdded);
    registry.bus.on(this, 'device-removed', onRemoved);
    registry.bus.on(this, 'state', onState);
    broker.on('status', onBroker);
    this.cleanups.push(() => {
      settings.off('settings', onSettings);
      registry.bus.off(this);
      broker.off('status', onBroker);
    });
    for (const state of registry.list()) this.load(state.deviceId);
    this.refreshTitles();
    const titlesTimer = setInterval(() => this.refreshTitles(), TITLES_REFRESH_MS);
    titlesTimer.unref();
    this.cleanups.push(() => clearInterval(titlesTimer));
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.retained.clear();
    this.haTopics.clear();
  }

  /** Publishes everything again (the broker may have lost its retained messages). */
  republish(): void {
    if (!this.running) return;
    this.retained.clear();
    for (const state of this.options.registry.list()) this.publish(state.deviceId, true);
    this.refreshTitles();
  }

  /** Reads the card titles again for the card picker (after the library changed, or the hub signed in to another cloud). */
  refreshTitles(): void {
    const read = this.options.cardTitles;
    if (!read || !this.running) return;
    read().then(
      (titles) => {
        if (!this.running || JSON.stringify(titles) === JSON.stringify(this.titles)) return;
        this.titles = titles;
        for (const state of this.options.registry.list()) this.publish(state.deviceId, false);
      },
      (error: unknown) => this.logger.debug('card titles not available for Home Assistant', { err: error }),
    );
  }

  private load(deviceId: string): void {
    this.options.settings.get(deviceId).catch((error: unknown) => this.logger.warn('could not read player settings', { deviceId, err: error }));
  }

  private publish(deviceId: string, force: boolean): void {
    if (!this.running || !isTopicSafeId(deviceId) || this.options.broker.status !== 'connected') return;
    const state = this.options.registry.get(deviceId);
    const view = this.options.settings.cached(deviceId);
    if (!state) return;
    if (view) this.retain(settingsTopics(this.prefix, deviceId).settings, { ...view, timestamp: this.now().toISOString() }, force);
    const ha = this.options.homeAssistant;
    if (ha?.enabled === false) return;
    const configs = settingsDiscoveryConfigs(state, view, this.titles, {
      topicPrefix: this.prefix,
      ...(ha?.discoveryPrefix ? { discoveryPrefix: ha.discoveryPrefix } : {}),
      ...(ha?.origin ? { origin: ha.origin } : {}),
    });
    const topics = new Set(configs.map((config) => config.topic));
    for (const config of configs) this.retain(config.topic, config.payload, force);
    for (const stale of this.haTopics.get(deviceId) ?? []) if (!topics.has(stale)) this.clear(stale);
    this.haTopics.set(deviceId, topics);
  }

  private remove(deviceId: string): void {
    this.options.settings.forget(deviceId);
    if (!isTopicSafeId(deviceId)) return;
    this.clear(settingsTopics(this.prefix, deviceId).settings);
    for (const topic of this.haTopics.get(deviceId) ?? []) this.clear(topic);
    this.haTopics.delete(deviceId);
  }

  private retain(topic: string, payload: object, force: boolean): void {
    const { timestamp: _timestamp, updatedAt: _updatedAt, ...content } = payload as { timestamp?: unknown; updatedAt?: unknown };
    const key = JSON.stringify(content);
    if (!force && this.retained.get(topic) === key) return;
    this.retained.set(topic, key);
    this.send(topic, JSON.stringify(payload), true);
  }

  private clear(topic: string): void {
    this.retained.delete(topic);
    this.send(topic, '', true);
  }

  private send(topic: string, payload: string, retain: boolean): void {
    if (!this.running || this.options.broker.status !== 'connected') return;
    this.options.broker.publish(topic, payload, { retain, qos: 1 }).catch((error: unknown) => this.logger.warn('home broker publish failed', { topic, err: error }));
  }

  // ---- house -> hub ----

  private deviceOf(topic: string, suffix: RegExp): { deviceId: string; rest: string[] } | undefined {
    if (!topic.startsWith(`${this.prefix}/`)) return undefined;
    const parts = topic.slice(this.prefix.length + 1).split('/');
    const deviceId = parts[0];
    if (!deviceId || !isTopicSafeId(deviceId) || !suffix.test(parts.slice(1).join('/'))) return undefined;
    return { deviceId, rest: parts.slice(1) };
  }

  private onSet(topic: string, raw: Buffer): void {
    const target = this.deviceOf(topic, /^settings\/set$/);
    if (!target) return;
    const { deviceId } = target;
    const parsed = this.parse(raw);
    if (!parsed.ok) return this.reject(deviceId, 'settings/set', undefined, parsed.reason, []);
    const checked = this.validator.check('player-settings-change', parsed.value);
    const requestId = requestIdOf(parsed.value);
    if (!checked.ok) return this.reject(deviceId, 'settings/set', requestId, checked.error.details.map((d) => `${d.path} ${d.message}`).join('; '), checked.error.details);
    const { request_id: _requestId, ...change } = checked.value;
    this.run(deviceId, 'settings/set', requestId, Object.keys(change), () => this.options.settings.update(deviceId, change as PlayerSettingsChange));
  }

  private onAlarmSet(topic: string, raw: Buffer): void {
    const target = this.deviceOf(topic, /^settings\/alarms\/\d{1,3}\/set$/);
    if (!target) return;
    const { deviceId, rest } = target;
    const id = Number(rest[2]);
    const parsed = this.parse(raw);
    if (!parsed.ok) return this.reject(deviceId, 'settings/alarms/set', undefined, parsed.reason, []);
    const checked = this.validator.check('player-alarm', parsed.value);
    if (!checked.ok) return this.reject(deviceId, 'settings/alarms/set', undefined, checked.error.details.map((d) => `${d.path} ${d.message}`).join('; '), checked.error.details);
    this.run(deviceId, 'settings/alarms/set', undefined, [`alarms/${id}`], () => this.options.settings.updateAlarm(deviceId, id, checked.value as AlarmInput).then((result) => result.settings));
  }

  private run(deviceId: string, command: string, requestId: string | undefined, changed: string[], action: () => Promise<PlayerSettingsView>): void {
    action().then(
      () => {
        this.send(`${this.prefix}/${deviceId}/events`, JSON.stringify({
          type: 'settings_updated',
          device_id: deviceId,
          command,
          changed,
          ...(requestId ? { request_id: requestId } : {}),
          timestamp: this.now().toISOString(),
        }), false);
      },
      (error: unknown) => {
        const answer = settingsApiError(error);
        if (!answer) this.logger.error('settings change failed', { deviceId, err: error });
        this.reject(deviceId, command, requestId, answer?.message ?? 'the change could not be made (see the hub log)', answer?.details ?? []);
      },
    );
  }

  private reject(deviceId: string, command: string, requestId: string | undefined, reason: string, details: Array<{ path: string; message: string }>): void {
    this.logger.warn('settings change rejected', { deviceId, reason });
    this.send(`${this.prefix}/${deviceId}/events`, JSON.stringify({
      type: 'command_rejected',
      device_id: deviceId,
      command,
      ...(requestId ? { request_id: requestId } : {}),
      reason,
      ...(details.length > 0 ? { details } : {}),
      timestamp: this.now().toISOString(),
    }), false);
  }

  private parse(raw: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
    const text = raw.toString('utf8').trim();
    if (text === '') return { ok: false, reason: 'the payload is empty; send a JSON object' };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (error) {
      return { ok: false, reason: `the payload is not JSON (${(error as Error).message})` };
    }
  }
}

function requestIdOf(value: unknown): string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['request_id'] : undefined;
  return typeof id === 'string' && id.length <= 128 ? id : undefined;
}
