import type { BrokerState, HomeBrokerClient } from '../broker/home-broker-client';
import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import { silentLogger, type Logger } from '../log/logger';
import type { BrokerAnnouncementMessage, BrokerCommandMessage, BrokerManagementMessage, DeviceEvent } from '../types/schemas';
import { getValidator, type SchemaName, type SchemaValidationError, type Validator } from '../validation';
import type { DeviceCommander, DeviceCommand } from '../yoto/device-command';
import { reportCommandFailure } from '../core/command-failures';
import { deviceViews, discoveryPayload, eventPayloadJson, sameFields, sameView, telemetryPayload, viewPayloadJson, type DeviceViews } from '../core/device-views';
import { mapBrokerCommand, type ScriptPlayRequest } from './command-mapping';
import { allConfigTopics, allPlayersNotifyConfig, discoveryOrigin, homeAssistantConfigs, type HomeAssistantOptions } from './home-assistant';
import { brokerTopics, isTopicSafeId, type BrokerTopics } from './topics';
import { announcePayload, announcementTargets } from '../announcements/targets';

/** Plays announcements on players, then puts back what they were playing: the hub's Announcer. */
export interface AnnouncementPlayer {
  announce(request: BrokerAnnouncementMessage, targets: readonly string[], source: 'mqtt'): { done: ReadonlyMap<string, Promise<{ status: string; reason?: string; message?: string }>> };
}

/** Starts a hub script on a player, as the script's owner: the hub's scripts service. */
export interface ScriptPlayer {
  playScript(deviceId: string, request: ScriptPlayRequest): Promise<unknown>;
}

export interface HomeBrokerBridgeOptions {
  /** Started by the caller; the bridge subscribes and publishes through it. */
  broker: HomeBrokerClient;
  registry: DeviceRegistry;
  commander: DeviceCommander;
  logger?: Logger;
  validator?: Validator;
  /** First topic level, "yoto" by default. */
  topicPrefix?: string;
  /** `resync_discovery` also asks these to publish their retained topics again (the settings bridge: settings and their entities). */
  alsoResync?: () => void;
  homeAssistant?: { enabled?: boolean; discoveryPrefix?: string };
  scripts: ScriptPlayer;
  announcements: AnnouncementPlayer;
  /** Passed to the commander; its own default applies when absent. */
  commandTimeoutMs?: number;
  now?: () => Date;
}

export interface HomeBrokerBridgeStats {
  published: number;
  publishFailures: number;
  commandsReceived: number;
  commandsCompleted: number;
  /** Refused by the player or the cloud, or timed out. */
  commandsFailed: number;
  /** Not JSON, not matching the schema, or for an unknown player. */
  commandsRejected: number;
  announcementsReceived: number;
  announcementsRejected: number;
  managementRequests: number;
  managementRejected: number;
  /** Events and telemetry not published because the broker was behind (HomeBrokerClient.isBehind). */
  eventsDropped: number;
  /** Times a player's retained state waited for the broker to catch up (published then, the latest). */
  statesHeldBack: number;
}

type Parsed = { ok: true; value: unknown } | { ok: false; reason: string; details: Array<{ path: string; message: string }> };


/**
 * The device model on the home broker (DESIGN.md section 5): retained status
 * and playback per player, events and telemetry as they happen, Home
 * Assistant discovery, the device list; and commands, announcements and
 * management requests from the house, each checked against its schema. A bad
 * request is answered with a `command_rejected` event and never stops the
 * bridge. After the broker comes back (and may have lost its retained
 * messages) everything retained is published again.
 */
export class HomeBrokerBridge {
  private readonly broker: HomeBrokerClient;
  private readonly registry: DeviceRegistry;
  private readonly logger: Logger;
  private readonly topics: BrokerTopics;
  private readonly validator: Validator;
  private readonly now: () => Date;
  private readonly haEnabled: boolean;
  private readonly haOptions: HomeAssistantOptions;
  /** Retained topic -> what was last published there (without its timestamp): a status or playback view, else the JSON text. */
  private readonly retained = new Map<string, string | object>();
  /** Retained topics to clear once the broker is back. */
  private readonly pendingRemovals = new Set<string>();
  /** Player -> the Home Assistant config topics published for it. */
  private readonly haTopics = new Map<string, Set<string>>();
  private readonly cleanups: Array<() => void> = [];
  private running = false;
  private deviceListQueued = false;
  /** eventsDropped when the log last said so. */
  private droppedReported = 0;
  /** Players already reported as unpublishable, so the log says it once. */
  private readonly unpublishable = new Set<string>();
  private readonly counters: HomeBrokerBridgeStats = {
    published: 0,
    publishFailures: 0,
    commandsReceived: 0,
    commandsCompleted: 0,
    commandsFailed: 0,
    commandsRejected: 0,
    announcementsReceived: 0,
    announcementsRejected: 0,
    managementRequests: 0,
    managementRejected: 0,
    eventsDropped: 0,
    statesHeldBack: 0,
  };
  /**
   * Players whose retained state (status, playback, Home Assistant configs) waits for a broker that
   * is behind, and whether it is to be published even if unchanged (a republish after a reconnect).
   */
  private readonly heldBack = new Map<string, boolean>();

  constructor(private readonly options: HomeBrokerBridgeOptions) {
    this.broker = options.broker;
    this.registry = options.registry;
    this.logger = options.logger ?? silentLogger;
    this.topics = brokerTopics(options.topicPrefix);
    this.validator = options.validator ?? getValidator();
    this.now = options.now ?? (() => new Date());
    this.haEnabled = options.homeAssistant?.enabled ?? true;
    this.haOptions = {
      ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
      ...(options.homeAssistant?.discoveryPrefix ? { discoveryPrefix: options.homeAssistant.discoveryPrefix } : {}),
      origin: discoveryOrigin(),
    };
  }

  get isRunning(): boolean {
    return this.running;
  }

  stats(): HomeBrokerBridgeStats {
    return { ...this.counters };
  }

  /** Subscribes to the house's topics and publishes the model; call once the broker client is started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.subscribe(this.topics.allCommands, (topic, payload) => this.onCommand(topic, payload));
    this.subscribe(this.topics.announcements, (_topic, payload) => this.onAnnouncement(payload));
    this.subscribe(this.topics.allAnnounce, (topic, payload) => this.onPlayerAnnouncement(topic, payload));
    this.subscribe(this.topics.management, (_topic, payload) => this.onManagement(payload));
    this.listenToRegistry();
    const onBrokerStatus = (state: BrokerState): void => {
      if (state === 'connected') this.republish();
    };
    const onDrain = (): void => this.publishHeldBack();
    this.broker.on('status', onBrokerStatus);
    this.broker.on('drain', onDrain);
    this.cleanups.push(() => {
      this.broker.off('status', onBrokerStatus);
      this.broker.off('drain', onDrain);
    });
    if (this.isConnected()) this.republish();
  }

  /** Unsubscribes and detaches every listener. Retained state stays on the broker for the house. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.retained.clear();
    this.pendingRemovals.clear();
    this.haTopics.clear();
    this.heldBack.clear();
  }

  /** Publishes every retained topic, the Home Assistant configs and the device list again. */
  republish(): void {
    if (!this.running || !this.isConnected()) return;
    for (const topic of this.pendingRemovals) this.clearRetained(topic);
    for (const state of this.registry.list()) this.publishDevice(state, true);
    if (this.haEnabled) {
      const all = allPlayersNotifyConfig(this.haOptions);
      this.publishRetained(all.topic, all.payload, true);
    }
    this.publishDeviceList();
  }

  private listenToRegistry(): void {
    const { bus } = this.registry;
    bus.on(this, 'device-added', (state) => {
      this.publishDevice(state, false);
      this.publishDeviceList();
    });
    bus.on(this, 'state', (state, previous) => this.onStateChange(state, previous));
    bus.on(this, 'device-removed', (deviceId) => this.removeDevice(deviceId));
    bus.on(this, 'event', (event) => this.publishEvent(event));
    bus.on(this, 'telemetry', (deviceId, telemetry, at) => {
      if (isTopicSafeId(deviceId) && !this.dropWhileBehind()) this.send(this.topics.telemetry(deviceId), telemetryPayload(telemetry, at), false);
    });
    this.cleanups.push(() => bus.off(this));
  }

  private subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): void {
    this.cleanups.push(this.broker.subscribe(filter, handler));
  }

  // ---- hub -> house ----

  private onStateChange(state: DeviceState, previous: DeviceState): void {
    if (!sameFields(state, previous, LISTED_FIELDS)) this.publishDeviceList();
    // While the broker is behind, the player's state waits as a whole (publishHeldBack compares
    // it with what the broker holds): no view is built or compared for each change meanwhile.
    if (this.publishable(state.deviceId) && this.holdBack(state.deviceId, false)) return;
    // Most changes touch one of the two views (a volume change only the playback): the other one's
    // retained topic already holds it, so it is not even built.
    const now = deviceViews(state);
    const before = deviceViews(previous);
    const status = !sameView(now.status, before.status);
    const playback = !sameView(now.playback, before.playback);
    if (status || playback) this.publishState(state, false, { status, playback });
    if (!sameFields(state, previous, DESCRIBING_FIELDS)) this.publishHomeAssistant(state, false);
  }

  private publishDevice(state: DeviceState, force: boolean): void {
    this.publishState(state, force);
    this.publishHomeAssistant(state, force);
  }

  /**
   * While the broker is behind, a player's retained state waits (the latest is published once the
   * broker has caught up) instead of piling up in the connection: true when it waits.
   */
  private holdBack(deviceId: string, force: boolean): boolean {
    if (!this.broker.isBehind()) return false;
    if (!this.heldBack.has(deviceId)) this.counters.statesHeldBack++;
    this.heldBack.set(deviceId, force || (this.heldBack.get(deviceId) ?? false));
    return true;
  }

  /** The broker caught up: the held-back players' latest state, until it falls behind again. */
  private publishHeldBack(): void {
    if (!this.running || !this.isConnected() || this.heldBack.size === 0) return;
    const waiting = [...this.heldBack];
    this.heldBack.clear();
    for (const [deviceId, force] of waiting) {
      const state = this.registry.get(deviceId);
      // A player that fell behind again waits again (holdBack); the drain after that publishes it.
      if (state) this.publishDevice(state, force);
    }
    if (this.counters.eventsDropped > this.droppedReported) {
      this.logger.info('home broker caught up', { eventsDropped: this.counters.eventsDropped - this.droppedReported });
      this.droppedReported = this.counters.eventsDropped;
    }
  }

  /** Events and telemetry are of the moment: while the broker is behind they are dropped and counted. */
  private dropWhileBehind(): boolean {
    if (!this.broker.isBehind()) return false;
    if (this.counters.eventsDropped === this.droppedReported) this.logger.warn('home broker is behind: events are dropped and players\' state waits until it catches up', { url: this.broker.url });
    this.counters.eventsDropped++;
    return true;
  }

  private publishState(state: DeviceState, force: boolean, which = { status: true, playback: true }): void {
    if (!this.publishable(state.deviceId) || this.holdBack(state.deviceId, force)) return;
    const at = this.now();
    if (which.status) this.publishView(this.topics.status(state.deviceId), state, 'status', at, force);
    if (which.playback) this.publishView(this.topics.playback(state.deviceId), state, 'playback', at, force);
  }

  /**
   * A status or playback view with its timestamp (statusPayload or playbackPayload as text),
   * unless the broker holds the same view already. Views are compared field by field, not as JSON.
   */
  private publishView(topic: string, state: DeviceState, which: keyof DeviceViews, at: Date, force: boolean): void {
    if (!this.isConnected()) return;
    this.pendingRemovals.delete(topic);
    const view = deviceViews(state)[which];
    const last = this.retained.get(topic);
    if (!force && typeof last === 'object' && sameView(last, view)) return;
    this.retained.set(topic, view);
    this.sendRaw(topic, viewPayloadJson(state, which, at), true);
  }

  private publishHomeAssistant(state: DeviceState, force: boolean): void {
    if (!this.haEnabled || !this.publishable(state.deviceId) || this.holdBack(state.deviceId, force)) return;
    const configs = homeAssistantConfigs(state, this.haOptions);
    const topics = new Set(configs.map((config) => config.topic));
    for (const config of configs) this.publishRetained(config.topic, config.payload, force);
    for (const stale of this.haTopics.get(state.deviceId) ?? []) {
      if (!topics.has(stale)) this.clearRetained(stale);
    }
    this.haTopics.set(state.deviceId, topics);
  }

  /** A player that went away: its retained topics and Home Assistant entities are cleared. */
  private removeDevice(deviceId: string): void {
    if (!isTopicSafeId(deviceId)) return;
    const topics = [this.topics.status(deviceId), this.topics.playback(deviceId)];
    if (this.haEnabled) topics.push(...allConfigTopics(deviceId, this.haOptions));
    for (const topic of topics) this.clearRetained(topic);
    this.haTopics.delete(deviceId);
    this.publishDeviceList();
  }

  /** Publishes the device list once per turn, however many players a cloud list just added. */
  private publishDeviceList(): void {
    if (this.deviceListQueued) return;
    this.deviceListQueued = true;
    queueMicrotask(() => {
      this.deviceListQueued = false;
      const states = this.registry.list().filter((state) => isTopicSafeId(state.deviceId));
      this.send(this.topics.discovery, discoveryPayload(states, this.now()), false);
    });
  }

  private publishEvent(event: DeviceEvent): void {
    if (isTopicSafeId(event.deviceId) && !this.dropWhileBehind()) this.sendRaw(this.topics.events(event.deviceId), eventPayloadJson(event), false);
  }

  /** Publishes a retained payload unless the broker already has the same content (timestamps aside). */
  private publishRetained(topic: string, payload: object, force: boolean): void {
    if (!this.isConnected()) return;
    const { timestamp: _timestamp, ...content } = payload as { timestamp?: unknown };
    const key = JSON.stringify(content);
    this.pendingRemovals.delete(topic);
    if (!force && this.retained.get(topic) === key) return;
    this.retained.set(topic, key);
    this.send(topic, payload, true);
  }

  private clearRetained(topic: string): void {
    this.retained.delete(topic);
    if (!this.isConnected()) {
      this.pendingRemovals.add(topic);
      return;
    }
    this.pendingRemovals.delete(topic);
    this.sendRaw(topic, '', true);
  }

  private send(topic: string, payload: object, retain: boolean): void {
    this.sendRaw(topic, JSON.stringify(payload), retain);
  }

  private sendRaw(topic: string, payload: string, retain: boolean): void {
    if (!this.running) return;
    this.broker.post(topic, payload, retain, (error) => {
      if (!error) {
        this.counters.published++;
        return;
      }
      this.counters.publishFailures++;
      this.logger.warn('home broker publish failed', { topic, err: error });
    });
  }

  // ---- house -> hub ----

  private onCommand(topic: string, raw: Buffer): void {
    const deviceId = this.topics.deviceOfCommandTopic(topic);
    if (!deviceId) return;
    this.counters.commandsReceived++;
    const parsed = this.parseAndCheck('broker-command', raw);
    if (!parsed.ok) return this.rejectCommand(deviceId, raw, parsed.reason, parsed.details);
    const message = parsed.value as BrokerCommandMessage;
    if (!this.registry.has(deviceId)) return this.rejectCommand(deviceId, raw, `unknown player "${deviceId}"`, []);
    const mapped = mapBrokerCommand(message);
    if (mapped.kind === 'script') {
      const { scripts } = this.options;
      return void this.runAndReport(deviceId, message, () => scripts.playScript(deviceId, mapped.request).then(() => ({ script_id: mapped.request.scriptId })));
    }
    void this.runAndReport(deviceId, message, () => this.execute(deviceId, mapped.command));
  }

  private async execute(deviceId: string, command: DeviceCommand): Promise<Record<string, unknown>> {
    const timeout = this.options.commandTimeoutMs;
    const result = await this.options.commander.execute(deviceId, command, timeout === undefined ? undefined : { timeoutMs: timeout });
    return { confirmed_by: result.confirmedBy, latency_ms: result.latencyMs };
  }

  /** Runs a command and answers on the player's events topic: completed, or failed with why. */
  private async runAndReport(
    deviceId: string,
    message: { command: string; request_id?: string },
    run: () => Promise<Record<string, unknown>>,
  ): Promise<void> {
    try {
      const details = await run();
      this.counters.commandsCompleted++;
      this.send(this.topics.events(deviceId), {
        type: 'command_completed',
        device_id: deviceId,
        command: message.command,
        ...(message.request_id ? { request_id: message.request_id } : {}),
        ...details,
        timestamp: this.now().toISOString(),
      }, false);
    } catch (error) {
      this.counters.commandsFailed++;
      const { code, reason } = reportCommandFailure(this.registry, deviceId, { command: message.command, requestId: message.request_id, surface: 'mqtt' }, error);
      this.logger.warn('player command failed', { deviceId, command: message.command, code, reason });
    }
  }

  private rejectCommand(deviceId: string, raw: Buffer, reason: string, details: Array<{ path: string; message: string }>): void {
    this.counters.commandsRejected++;
    this.logger.warn('home broker command rejected', { deviceId, reason });
    this.send(this.topics.events(deviceId), rejection(raw, reason, details, this.now(), { device_id: deviceId }), false);
  }

  private onAnnouncement(raw: Buffer): void {
    this.counters.announcementsReceived++;
    const parsed = this.parseAndCheck('broker-announcement', raw);
    if (!parsed.ok) return this.rejectAnnouncement(raw, parsed.reason, parsed.details);
    const announcement = parsed.value as BrokerAnnouncementMessage;
    const targets = announcementTargets(announcement, this.registry);
    if (!targets.ok) return this.rejectAnnouncement(raw, targets.message, []);
    this.send(this.topics.broadcastEvents, {
      type: 'announcement_started',
      device_ids: targets.targets,
      ...(announcement.request_id ? { request_id: announcement.request_id } : {}),
      timestamp: this.now().toISOString(),
    }, false);
    this.startAnnouncement(announcement, targets.targets);
  }

  /** yoto/<id>/announce: the announcement JSON or plain text to say, on that player. */
  private onPlayerAnnouncement(topic: string, raw: Buffer): void {
    const deviceId = this.topics.deviceOfAnnounceTopic(topic);
    if (!deviceId) return;
    this.counters.announcementsReceived++;
    const checked = this.validator.check('broker-announcement', announcePayload(raw));
    if (!checked.ok) return this.rejectPlayerAnnouncement(deviceId, raw, describeValidation(checked.error), checked.error.details);
    const announcement = checked.value as BrokerAnnouncementMessage;
    if (announcement.device_ids && (announcement.device_ids.length !== 1 || announcement.device_ids[0] !== deviceId)) {
      return this.rejectPlayerAnnouncement(deviceId, raw, `device_ids on ${topic} may name only ${deviceId}`, [{ path: '/device_ids', message: `must be ["${deviceId}"] or absent` }]);
    }
    if (!this.registry.has(deviceId)) return this.rejectPlayerAnnouncement(deviceId, raw, `unknown player "${deviceId}"`, []);
    this.startAnnouncement({ ...announcement, device_ids: [deviceId] }, [deviceId]);
  }

  /** Hands the announcement to the announcer; each player answers command_completed or command_failed on its events topic. */
  private startAnnouncement(announcement: BrokerAnnouncementMessage, targets: string[]): void {
    const { done } = this.options.announcements.announce(announcement, targets, 'mqtt');
    const message = { command: 'announcement', ...(announcement.request_id ? { request_id: announcement.request_id } : {}) };
    for (const deviceId of targets) {
      void this.runAndReport(deviceId, message, async () => {
        const entry = await done.get(deviceId)!;
        if (entry.status !== 'finished') throw Object.assign(new Error(entry.message ?? entry.reason ?? entry.status), { code: entry.reason ?? entry.status });
        return {};
      });
    }
  }

  private rejectPlayerAnnouncement(deviceId: string, raw: Buffer, reason: string, details: Array<{ path: string; message: string }>): void {
    this.counters.announcementsRejected++;
    this.logger.warn('home broker announcement rejected', { deviceId, reason });
    this.send(this.topics.events(deviceId), rejection(raw, reason, details, this.now(), { device_id: deviceId }), false);
  }

  private rejectAnnouncement(raw: Buffer, reason: string, details: Array<{ path: string; message: string }>): void {
    this.counters.announcementsRejected++;
    this.logger.warn('home broker announcement rejected', { reason });
    this.send(this.topics.broadcastEvents, rejection(raw, reason, details, this.now()), false);
  }

  private onManagement(raw: Buffer): void {
    this.counters.managementRequests++;
    const parsed = this.parseAndCheck('broker-management', raw);
    if (!parsed.ok) {
      this.counters.managementRejected++;
      this.logger.warn('home broker management request rejected', { reason: parsed.reason });
      return this.send(this.topics.adminEvents, rejection(raw, parsed.reason, parsed.details, this.now()), false);
    }
    const request = parsed.value as BrokerManagementMessage;
    switch (request.action) {
      case 'ping':
        return this.answerManagement(request, { type: 'pong', devices: this.registry.list().length });
      case 'resync_discovery':
        this.republish();
        this.options.alsoResync?.();
        return this.answerManagement(request, { type: 'management_done', devices: this.registry.list().length });
      case 'refresh':
        return void this.refreshPlayers(request);
    }
  }

  /** Asks every online player for fresh status and events, then answers with how many did not respond. */
  private async refreshPlayers(request: BrokerManagementMessage): Promise<void> {
    const online = this.registry.list().filter((state) => state.online);
    const requests = online.flatMap((state) =>
      (['status-request', 'events-request'] as const).map((type) => this.options.commander.execute(state.deviceId, { type })),
    );
    const results = await Promise.allSettled(requests);
    const failed = results.filter((result) => result.status === 'rejected').length;
    this.answerManagement(request, { type: 'management_done', devices: online.length, failed_requests: failed });
  }

  private answerManagement(request: BrokerManagementMessage, answer: Record<string, unknown>): void {
    this.send(this.topics.adminEvents, {
      ...answer,
      action: request.action,
      ...(request.request_id ? { request_id: request.request_id } : {}),
      timestamp: this.now().toISOString(),
    }, false);
  }

  private parseAndCheck(schema: SchemaName, raw: Buffer): Parsed {
    const parsed = parseJson(raw);
    if (!parsed.ok) return parsed;
    const checked = this.validator.check(schema, parsed.value);
    if (checked.ok) return { ok: true, value: checked.value };
    return { ok: false, reason: describeValidation(checked.error), details: checked.error.details };
  }

  private publishable(deviceId: string): boolean {
    if (isTopicSafeId(deviceId)) return true;
    if (!this.unpublishable.has(deviceId)) {
      this.unpublishable.add(deviceId);
      this.logger.warn('player id cannot be used in home broker topics; not published', { deviceId });
    }
    return false;
  }

  private isConnected(): boolean {
    return this.broker.status === 'connected';
  }
}

/** The fields Home Assistant's device block and entity set are made of. */
const DESCRIBING_FIELDS = ['name', 'model', 'deviceFamily', 'firmware', 'hasNightLight'] as const;

/** The fields of the yoto/admin/discovery list. */
const LISTED_FIELDS = ['name', 'model', 'deviceFamily', 'online'] as const;

function parseJson(raw: Buffer): Parsed {
  const text = raw.toString('utf8').trim();
  if (text === '') return { ok: false, reason: 'the payload is empty; send a JSON object', details: [] };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: `the payload is not JSON (${error instanceof Error ? error.message : String(error)})`, details: [] };
  }
}

function describeValidation(error: SchemaValidationError): string {
  return error.details.map((detail) => `${detail.path} ${detail.message}`).join('; ') || error.message;
}

/** A `command_rejected` answer, echoing the request's command and request_id when it had them. */
function rejection(
  raw: Buffer,
  reason: string,
  details: Array<{ path: string; message: string }>,
  at: Date,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const request = parseJson(raw);
  const echo: Record<string, unknown> = {};
  if (request.ok && typeof request.value === 'object' && request.value !== null) {
    const fields = request.value as Record<string, unknown>;
    for (const name of ['command', 'action', 'request_id']) {
      const value = fields[name];
      if (typeof value === 'string' && value.length <= 128) echo[name] = value;
    }
  }
  return {
    type: 'command_rejected',
    ...extra,
    ...echo,
    reason,
    ...(details.length > 0 ? { details } : {}),
    timestamp: at.toISOString(),
  };
}
