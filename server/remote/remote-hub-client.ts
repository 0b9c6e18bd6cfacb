import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { PlayerEntry } from '../announcements/announcer';
import { DeviceBus } from '../core/device-bus';
import type { ConnectionStatus, DeviceState, PlaybackState } from '../core/device-state';
import type { HubState } from '../hub';
import { silentLogger, type Logger } from '../log/logger';
import type { Announcement, AudioFile, BrokerEventMessage, BrokerPlaybackMessage, BrokerStatusMessage, CyoaStory, DeviceEvent, Script } from '../types/schemas';
import type { HubClient, HubClientAnnouncement, HubClientDevices, HubClientEvents } from './hub-client';
import { trimEndChar } from '../text/trim';
import { backoffDelay } from '../yoto/rest/retry';

export interface RemoteHubOptions {
  /** The hub server's base URL, e.g. https://hub.example.org or http://192.168.1.20:1881 */
  url: string;
  /** An API token (POST /api/auth/tokens, or the panel's Settings). */
  token: string;
  logger?: Logger;
  /** First reconnect delay; doubles up to maxReconnectMs (default 500 ms and 30 s), each wait between half and all of it. */
  reconnectMs?: number;
  maxReconnectMs?: number;
  /** How often an announcement's progress is read (default 500 ms). */
  pollMs?: number;
  /** Told whenever why the client is not running changes (undefined: running). */
  onProblem?: (problem: RemoteProblem) => void;
}

/** Why the client is not running, for the yoto-hub node's status. */
export type RemoteProblem = 'connecting' | 'unauthorized' | 'unreachable' | undefined;

/** A REST answer that was not a success, worded for the user (the hub's own error message). */
export class RemoteHubError extends Error {
  override readonly name = 'RemoteHubError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const FINAL: ReadonlySet<PlayerEntry['status']> = new Set(['finished', 'failed', 'expired', 'skipped']);
/** WebSocket close code of a hub that refuses the token (or withdrew it). */
const UNAUTHORIZED = 4401;

interface PlayerPayloads {
  status?: BrokerStatusMessage;
  playback?: BrokerPlaybackMessage;
}

/**
 * A hub server reached over the network with an API token: the yoto-hub
 * node's "Remote hub" mode. The device model is a mirror kept from the hub's
 * WebSocket (/ws, `device.*`): status, playback and events rebuilt into the
 * same DeviceState values and delivered on a DeviceBus, so nodes listen to it
 * as to an in-process hub. Commands, scripts, settings and announcements go
 * over REST. The socket reconnects with backoff and subscribes again; close()
 * releases the socket and every timer.
 */
export class RemoteHubClient extends EventEmitter<HubClientEvents> implements HubClient {
  readonly kind = 'remote' as const;
  readonly cloudState = undefined;
  readonly url: string;
  private readonly token: string;
  private readonly logger: Logger;
  private readonly bus: DeviceBus;
  private readonly mirror = new Map<string, DeviceState>();
  private readonly parts = new Map<string, PlayerPayloads>();
  private hubState: HubState = 'stopped';
  private socket: WebSocket | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  /** Players in the picture the current subscription started with (others are gone from the hub). */
  private picture: Set<string> | undefined;
  private readonly polls = new Set<NodeJS.Timeout>();
  private readonly waiting = new Set<(entry: PlayerEntry | undefined) => void>();
  private why: RemoteProblem = 'connecting';
  readonly devices: HubClientDevices;

  constructor(private readonly options: RemoteHubOptions) {
    super();
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new Error(`the remote hub URL must be like http://host:1881, got "${options.url}"`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`the remote hub URL must use http: or https:, got "${base.protocol}"`);
    if (!options.token) throw new Error('the remote hub needs an API token (create one in the hub panel\'s Settings, or POST /api/auth/tokens)');
    this.url = trimEndChar(base.toString(), '/');
    this.token = options.token;
    this.logger = options.logger ?? silentLogger;
    this.bus = new DeviceBus(this.logger);
    this.devices = { list: () => [...this.mirror.values()], get: (id) => this.mirror.get(id), bus: this.bus };
  }

  get state(): HubState {
    return this.hubState;
  }

  /** Why the client is not running: connecting (first time), unauthorized (token refused), unreachable; undefined while it runs. */
  get problem(): RemoteProblem {
    return this.why;
  }

  private setProblem(problem: RemoteProblem): void {
    if (problem === this.why) return;
    this.why = problem;
    this.options.onProblem?.(problem);
  }

  /** Connects (and keeps reconnecting until close()). */
  start(): void {
    if (this.closed || this.socket || this.reconnectTimer) return;
    this.setState('starting');
    this.connect();
  }

  /** Closes the socket, stops every timer and poll; the client cannot be started again. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const timer of this.polls) clearTimeout(timer);
    this.polls.clear();
    for (const settle of [...this.waiting]) settle(undefined);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
    }
    this.setState('stopped');
    this.removeAllListeners();
  }

  // ---- the WebSocket and the mirror ----

  private connect(): void {
    const wsUrl = new URL('/ws', this.url);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(wsUrl, { headers: { Authorization: `Bearer ${this.token}` } });
    this.socket = socket;
    this.picture = new Set();
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'subscribe', topic: 'device.*' }));
    });
    socket.on('message', (data) => this.onMessage(String(data)));
    socket.on('unexpected-response', (_request, response) => {
      this.setProblem(response.statusCode === 401 ? 'unauthorized' : 'unreachable');
      this.logger.warn('the remote hub refused the connection', { url: this.url, status: response.statusCode });
      response.resume();
      socket.terminate();
    });
    socket.on('error', (error) => {
      if (this.why !== 'unauthorized') this.setProblem('unreachable');
      this.logger.debug('remote hub socket error', { url: this.url, err: error });
    });
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.closed) return;
      if (code === UNAUTHORIZED) this.setProblem('unauthorized');
      else if (this.why === undefined) this.setProblem('unreachable');
      this.setState('starting');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    // With jitter (half to full): the nodes of many Node-RED instances do not reconnect in step after the hub restarts.
    const delay = backoffDelay({ baseDelayMs: this.options.reconnectMs ?? 500, maxDelayMs: this.options.maxReconnectMs ?? 30_000 }, this.attempt);
    this.attempt++;
    this.logger.debug('reconnecting to the remote hub', { url: this.url, inMs: delay, problem: this.why });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.connect();
    }, delay);
  }

  private onMessage(text: string): void {
    let message: { type?: unknown; deviceId?: unknown; data?: unknown; event?: unknown; message?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      this.logger.warn('the remote hub sent a message that is not JSON');
      return;
    }
    const deviceId = typeof message.deviceId === 'string' ? message.deviceId : undefined;
    switch (message.type) {
      case 'device.status':
        if (deviceId) this.update(deviceId, { status: message.data as BrokerStatusMessage });
        return;
      case 'device.playback':
        if (deviceId) this.update(deviceId, { playback: message.data as BrokerPlaybackMessage });
        return;
      case 'device.event':
        if (deviceId) this.onEvent(deviceId, message.event as BrokerEventMessage);
        return;
      case 'device.removed':
        if (deviceId) this.remove(deviceId);
        return;
      case 'subscribed':
        this.onSubscribed();
        return;
      case 'error':
        this.logger.warn('the remote hub rejected a message', { message: message.message });
        return;
      default:
        return;
    }
  }

  private onSubscribed(): void {
    const picture = this.picture;
    this.picture = undefined;
    this.attempt = 0;
    this.setProblem(undefined);
    // Players the hub no longer has (removed while the socket was down) leave the mirror.
    for (const deviceId of [...this.mirror.keys()]) if (picture && !picture.has(deviceId)) this.remove(deviceId);
    this.setState('running');
  }

  private update(deviceId: string, change: PlayerPayloads): void {
    this.picture?.add(deviceId);
    const parts = { ...this.parts.get(deviceId), ...change };
    this.parts.set(deviceId, parts);
    const previous = this.mirror.get(deviceId);
    const next = mirrorState(deviceId, parts);
    this.mirror.set(deviceId, next);
    if (!previous) this.bus.emit('device-added', next);
    else this.bus.emit('state', next, previous);
  }

  private remove(deviceId: string): void {
    const last = this.mirror.get(deviceId);
    this.mirror.delete(deviceId);
    this.parts.delete(deviceId);
    if (last) this.bus.emit('device-removed', deviceId, last);
  }

  private onEvent(deviceId: string, payload: BrokerEventMessage): void {
    if (typeof payload !== 'object' || payload === null || typeof payload.type !== 'string') return;
    const { device_id: _id, type, timestamp, ...data } = payload as Record<string, unknown>;
    const event: DeviceEvent = {
      id: randomUUID(),
      deviceId,
      type: type as DeviceEvent['type'],
      timestamp: typeof timestamp === 'string' ? timestamp : new Date().toISOString(),
      data: camelCaseKeys(data),
    };
    this.bus.emit('event', event);
  }

  private setState(state: HubState): void {
    if (state === this.hubState) return;
    this.hubState = state;
    this.emit('state', state);
  }

  // ---- REST ----

  /** One API call; a non-2xx answer rejects with the hub's own message. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const message = typeof error?.message === 'string' ? error.message : `${response.status} ${response.statusText}`;
      throw new RemoteHubError(response.status, typeof error?.code === 'string' ? error.code : 'remote_error', message);
    }
    return json as T;
  }

  /** GET that answers undefined for a 404. */
  private async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.call<T>('GET', path);
    } catch (error) {
      if (error instanceof RemoteHubError && error.status === 404) return undefined;
      throw error;
    }
  }

  command(...[deviceId, message]: Parameters<HubClient['command']>): ReturnType<HubClient['command']> {
    return this.call('POST', `/api/devices/${encodeURIComponent(deviceId)}/command`, message);
  }

  deployScript(...[scriptId, deviceId, options]: Parameters<HubClient['deployScript']>): ReturnType<HubClient['deployScript']> {
    return this.call('POST', `/api/scripts/${encodeURIComponent(scriptId)}/deploy`, { deviceId, ...options });
  }

  script(id: string): ReturnType<HubClient['script']> {
    return this.find<Script>(`/api/scripts/${encodeURIComponent(id)}`);
  }

  async scripts(): ReturnType<HubClient['scripts']> {
    return (await this.call<{ items: Script[] }>('GET', '/api/scripts')).items;
  }

  async saveScript(script: Parameters<HubClient['saveScript']>[0]): Promise<string> {
    // Who owns it and when it was made are the hub's to say: the token's user owns what it creates.
    const { id, userId: _owner, createdAt: _created, updatedAt: _updated, cardId: _card, ...fields } = script;
    if (await this.script(id)) return (await this.call<Script>('PUT', `/api/scripts/${encodeURIComponent(id)}`, fields)).id;
    return (await this.call<Script>('POST', '/api/scripts', fields)).id;
  }

  audioFile(id: string): ReturnType<HubClient['audioFile']> {
    return this.find<AudioFile>(`/api/audio/${encodeURIComponent(id)}`);
  }

  async story(id: string): ReturnType<HubClient['story']> {
    return (await this.find<{ story: CyoaStory }>(`/api/stories/${encodeURIComponent(id)}`))?.story;
  }

  settings(deviceId: string): ReturnType<HubClient['settings']> {
    return this.call('GET', `/api/devices/${encodeURIComponent(deviceId)}/settings`);
  }

  updateSettings(...[deviceId, change]: Parameters<HubClient['updateSettings']>): ReturnType<HubClient['updateSettings']> {
    return this.call('PATCH', `/api/devices/${encodeURIComponent(deviceId)}/settings`, change);
  }

  async announce(request: Parameters<HubClient['announce']>[0]): Promise<HubClientAnnouncement> {
    const started = await this.call<Announcement>('POST', '/api/announcements', request);
    const done = new Map<string, Promise<PlayerEntry>>();
    const settlers = new Map<string, (entry: PlayerEntry) => void>();
    for (const entry of started.players) done.set(entry.deviceId, new Promise((resolve) => settlers.set(entry.deviceId, resolve)));
    const settle = (record: Pick<Announcement, 'players'> | undefined): void => {
      for (const [deviceId, resolve] of [...settlers]) {
        const entry = record?.players.find((player) => player.deviceId === deviceId) ?? (record ? undefined : { deviceId, status: 'failed' as const, reason: 'hub_stopped' });
        if (entry && FINAL.has(entry.status)) {
          settlers.delete(deviceId);
          resolve(entry);
        }
      }
    };
    // Closing the client ends the wait: every player not done yet counts as failed (hub_stopped).
    const onClose = (_entry: PlayerEntry | undefined): void => settle(undefined);
    this.waiting.add(onClose);
    settle(started);
    const poll = (): void => {
      if (settlers.size === 0 || this.closed) {
        this.waiting.delete(onClose);
        return;
      }
      const timer = setTimeout(() => {
        this.polls.delete(timer);
        this.call<Announcement>('GET', `/api/announcements/${encodeURIComponent(started.id)}`).then(
          (record) => {
            settle(record);
            poll();
          },
          (error: unknown) => {
            this.logger.warn('could not follow an announcement on the remote hub', { id: started.id, err: error });
            poll();
          },
        );
      }, this.options.pollMs ?? 500);
      this.polls.add(timer);
    };
    poll();
    return { id: started.id, done };
  }

  async cards(): ReturnType<HubClient['cards']> {
    const { cards } = await this.call<{ cards: Array<{ cardId: string; title: string; kind?: string }> }>('GET', '/api/cards');
    return cards.map((card) => ({ id: card.cardId, name: card.title, ...(card.kind ? { kind: card.kind } : {}) }));
  }
}

/** A player's DeviceState rebuilt from the status and playback payloads the hub sends (server/core/device-views, inverted). */
export function mirrorState(deviceId: string, parts: PlayerPayloads): DeviceState {
  const status = parts.status;
  const playback = parts.playback;
  const connection = (status?.status ?? 'disconnected') as ConnectionStatus;
  const online = typeof status?.['online'] === 'boolean' ? status['online'] : connection === 'connected' || connection === 'idle';
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const state: DeviceState = {
    deviceId,
    name: text(status?.['name']) ?? deviceId,
    hasNightLight: status?.['nightlight'] !== undefined,
    online,
    shutDown: connection === 'shutdown',
    status: connection,
    playback: {},
    telemetry: {},
    updatedAt: playback?.timestamp ?? status?.timestamp ?? new Date().toISOString(),
  };
  const model = text(status?.['model']);
  if (model !== undefined) state.model = model;
  if (status?.firmware !== undefined) state.firmware = status.firmware;
  if (status?.battery !== undefined) state.battery = status.battery;
  if (status?.charging !== undefined) state.charging = status.charging;
  const nightlight = text(status?.['nightlight']);
  if (nightlight !== undefined) state.nightlight = nightlight;
  const dayMode = status?.['day_mode'];
  if (dayMode === 'day' || dayMode === 'night') state.dayMode = dayMode;
  const offlineSince = text(status?.['offline_since']);
  if (offlineSince !== undefined) state.offlineSince = offlineSince;
  if (playback) {
    const playing = playback.state as PlaybackState;
    state.playback.state = playing;
    if (playback.card_id !== undefined) {
      state.playback.cardId = playback.card_id;
      state.playback.hasCard = true;
    } else if (playing === 'idle') {
      state.playback.hasCard = false;
    }
    if (playback.title !== undefined) state.playback.trackTitle = playback.title;
    if (playback.chapter_key !== undefined) state.playback.chapterKey = playback.chapter_key;
    if (playback.track_key !== undefined) state.playback.trackKey = playback.track_key;
    if (playback.position !== undefined) state.playback.position = playback.position;
    if (playback.duration !== undefined) state.playback.duration = playback.duration;
    if (playback.volume !== undefined) state.volume = { percent: playback.volume, level: Math.round((playback.volume * 16) / 100) };
  }
  return state;
}

/** snake_case keys back to the camelCase of DeviceEvent.data (the inverse of snakeCaseKeys). */
export function camelCaseKeys(data: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) result[key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())] = value;
  return result;
}
