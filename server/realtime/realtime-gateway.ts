import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData, type WebSocketServer } from 'ws';
import { deviceViews, eventPayloadJson, sameView, viewPayloadJson, type DeviceViews } from '../core/device-views';
import { realClock, type Clock, type ClockTimer } from '../time/clock';
import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import type { RequestUser } from '../http/request-user';
import { silentLogger, type Logger } from '../log/logger';
import type { DeviceEvent, WsClientMessage, WsServerMessage } from '../types/schemas';
import { getValidator, type ErrorDetail, type Validator } from '../validation';
import { accessTokenFromRequest } from './access-token';
import { parseHandshakeOptions, type HandshakeOptions, type HandshakeParse } from './handshake-options';

/** Close codes the gateway uses (4000-4999 are the application's own). */
export const WS_CLOSE = {
  /** The hub stops. */
  goingAway: 1001,
  /** The client reads too slowly: it should reconnect later. */
  tryAgainLater: 1013,
  /** No access token, or one that is invalid, expired or revoked; or the user was disabled or deleted. */
  unauthorized: 4401,
  /** The upgrade URL's options (`batch`, `subscribe`) are not valid (a server without the upgrade gate; with it, HTTP 400). */
  invalidQuery: 4400,
} as const;

/** Whether an upgrade to /ws may go ahead, decided before the socket is accepted. */
export type UpgradeVerdict = { ok: true } | { ok: false; status: 400 | 401 | 429; code: string; message: string };

export interface RealtimeGatewayOptions {
  /** The hub server's WebSocketServer (`HubHttpServer.wss`): the gateway serves every connection it emits. */
  wss: WebSocketServer;
  registry: DeviceRegistry;
  /** The user an access token belongs to (same tokens as the REST API); undefined for an invalid or expired one. */
  authenticate: (token: string) => RequestUser | undefined;
  /** Whether this user may see this player (admins: all; members: their own). Asked for every message, so ownership changes apply at once. */
  canSee: (user: RequestUser, deviceId: string) => boolean;
  /**
   * Users with the same key see the same players (canSee answers alike for them), so their batch clients with
   * the same subscriptions share one encoded frame. Default: each user their own key.
   */
  visibilityKey?: (user: RequestUser) => string;
  /** When an access token expires (ms since the epoch): the connection is closed then unless renewed. Undefined: never. */
  tokenExpiresAt?: (token: string) => number | undefined;
  /** Open connections one user may have; more are refused at the upgrade with 429. Default 20. */
  maxConnectionsPerUser?: number;
  /** The client's address of an upgrade request (default: the connection's; behind a reverse proxy, the one it forwards). */
  clientAddress?: (request: IncomingMessage) => string;
  /** Open connections one client address may have; more are refused at the upgrade with 429. Default 50. */
  maxConnectionsPerAddress?: number;
  logger?: Logger;
  /** At most one `device.playback` per player in this time; always the latest. Default 250 ms. */
  coalesceMs?: number;
  /** Above this many bytes waiting to be sent to a client, its playback updates (and, batching, its status updates) are held back (only the latest kept). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Above this many bytes waiting, the client is closed with 1013. Default 4 x maxBufferedBytes. */
  closeBufferedBytes?: number;
  /** A protocol-level ping goes to every client this often; one that has not answered the previous one is terminated. Default 30 s; 0 turns it off. */
  pingIntervalMs?: number;
  /** How long a client closed for backpressure has to read its close frame before its socket is destroyed. Default 5 s. */
  closeGraceMs?: number;
  /** Larger client messages are refused with an error. Default 4 KiB. */
  maxMessageBytes?: number;
  /**
   * With `batchIntervalClients` batch clients or more, a batch client gets at most one frame in this
   * time (the turns between go into the next frame); with fewer, the interval shrinks in proportion
   * (20 clients: a fifth of it), so the hub's writes stay within the same budget, and few clients get
   * their messages sooner. Default 20 ms; 0: one frame every turn.
   */
  batchIntervalMs?: number;
  /** How many batch clients get the whole `batchIntervalMs` (default 100: about 5,000 frames a second in all). */
  batchIntervalClients?: number;
  /** Time and timers (coalescing, heartbeat, close grace); injected so tests move time instead of waiting. */
  clock?: Clock;
  validator?: Validator;
}

export interface RealtimeGatewayStats {
  /** Authenticated clients connected now. */
  clients: number;
  /** Messages sent to clients (every kind). */
  messagesSent: number;
  /** Playback updates replaced by a later one before they were sent (normal coalescing, per player). */
  coalesced: number;
  /** Status and playback updates replaced by a later one of the same player within one batch (clients that asked for batches). */
  superseded: number;
  /** Batch frames sent (each holds one client's messages of the turns since its previous frame). */
  batchesSent: number;
  /** Playback (and, batching, status) updates replaced while the client's send buffer was over maxBufferedBytes. */
  dropped: number;
  /** Clients closed with 1013 because their send buffer went over closeBufferedBytes. */
  closedForBackpressure: number;
  /** Connections refused (HTTP 401 at the upgrade) or closed with 4401: no valid token, expired, revoked, user gone. */
  rejectedUnauthorized: number;
  /** Upgrades refused with 429: too many connections for the user or the address. */
  rejectedOverLimit: number;
  /** Connections that renewed their access token. */
  renewed: number;
  /** Client messages answered with an error, and upgrades refused for their URL's options (HTTP 400). */
  invalidMessages: number;
  /** Clients terminated because they did not answer a ping. */
  heartbeatTimeouts: number;
}

const DEFAULT_COALESCE_MS = 250;
const DEFAULT_BATCH_INTERVAL_MS = 20;
const DEFAULT_BATCH_INTERVAL_CLIENTS = 100;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_PING_INTERVAL_MS = 30_000;
const DEFAULT_CLOSE_GRACE_MS = 5_000;
const DEFAULT_MAX_MESSAGE_BYTES = 4096;
const DEFAULT_MAX_CONNECTIONS_PER_USER = 20;
const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 50;
const ALL_DEVICES = 'device.*';
const DEVICE_TOPIC_PREFIX = 'device.';

/** A player message of this turn of the event loop, on its way to the clients that asked for batches. */
interface TurnEntry {
  deviceId: string;
  text: string;
  /** `status:<id>` or `playback:<id>`: a later entry with the same key replaces this one. Events have none: never replaced. */
  key: string | undefined;
  /** Replaced by a later entry of the same key. */
  superseded: boolean;
}

interface Client {
  readonly ws: WebSocket;
  /** The connection's socket (ws writes its frames to it); corked while a batch of writes is under way. */
  readonly socket: Duplex;
  corked: boolean;
  /** The user as of the last check of the token (role changes apply at once). */
  user: RequestUser;
  /** The access token the connection runs on (replaced by renew). */
  token: string;
  readonly address: string;
  expiryTimer?: ClockTimer;
  /** Subscribed to `device.*`. */
  all: boolean;
  /** Subscribed to these `device.<id>` topics. */
  readonly devices: Set<string>;
  /** Answered the last ping (or sent anything). */
  alive: boolean;
  /** Asked for batches (`{"type":"options","batch":true}`): every frame is a JSON array of the messages of one turn. */
  batch: boolean;
  /** Batching: this client's own messages (answers, its first picture) of this turn, sent ahead of the turn's player messages. */
  own: string[];
  /** Held back while the client's send buffer is full: `playback:<id>` (and, batching, `status:<id>`) -> the latest message. */
  readonly pending: Map<string, { deviceId: string; text: string }>;
  flushTimer?: ClockTimer;
  /** Closed by the gateway; nothing more is sent. */
  closing: boolean;
  killTimer?: ClockTimer;
}

/**
 * The hub's WebSocket API at /ws (DESIGN.md section 7): live status, playback
 * and events of the players a user may see, with the same payloads as the
 * home broker topics (section 5).
 *
 * - Authentication: the REST API's access token (see accessTokenFromRequest);
 *   none or an invalid one closes the connection with 4401.
 * - Client messages (schemas/ws-client-message): `subscribe` / `unsubscribe`
 *   `device.<id>` or `device.*`, `ping`, `renew`, `options`. A bad message gets
 *   an `error` and the connection stays. `subscribe` is answered with the
 *   current status and playback of the matching players, then `subscribed`.
 *   The upgrade URL may ask for batches and subscriptions at once
 *   (`/ws?batch=true&subscribe=device.*`, handshake-options.ts): the first
 *   picture then leaves as soon as the socket is open; bad ones refuse the
 *   upgrade with HTTP 400 `invalid_query`.
 * - Playback updates are coalesced per player (one per `coalesceMs`, the
 *   latest); events and removals never are.
 * - Batches (`{"type":"options","batch":true}`): the client gets one frame per
 *   turn of the event loop (at most one per `batchIntervalMs` with 100 batch
 *   clients, proportionally more often with fewer, the turns between gathered
 *   into it), a JSON array of the messages in order; a
 *   player's status or playback replaces an earlier one of the same player
 *   in the same batch (events are never dropped). The array of a turn's player
 *   messages is encoded once for all the clients that see the same players, so
 *   a fleet costs a write per client per turn instead of one per message.
 * - Backpressure: over `maxBufferedBytes` waiting, a client's playback updates
 *   (batching: status too) are held back (the latest kept, the others
 *   dropped); over `closeBufferedBytes` it is closed with 1013, so a slow
 *   client never makes the hub buffer without bound.
 * - Heartbeat: protocol pings; a client that misses one is terminated.
 */
export class RealtimeGateway {
  private readonly wss: WebSocketServer;
  private readonly registry: DeviceRegistry;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly validator: Validator;
  private readonly coalesceMs: number;
  private readonly maxBufferedBytes: number;
  private readonly closeBufferedBytes: number;
  private readonly pingIntervalMs: number;
  private readonly closeGraceMs: number;
  private readonly maxMessageBytes: number;
  private readonly batchIntervalMs: number;
  private readonly batchIntervalClients: number;
  private readonly clients = new Map<WebSocket, Client>();
  /** Upgrades let through by admit() and not yet connected: who they are. */
  private readonly admitted = new WeakMap<IncomingMessage, { user: RequestUser; token: string; handshake: HandshakeOptions }>();
  private readonly maxPerUser: number;
  private readonly maxPerAddress: number;
  private readonly cleanups: Array<() => void> = [];
  private heartbeatTimer: ClockTimer | undefined;
  /** Clients whose socket is corked until the end of this turn of the event loop. */
  private corked: Client[] = [];
  /** Runs at the end of this turn: sends the batches and uncorks the sockets. */
  private turnImmediate: NodeJS.Immediate | undefined;
  /** When batches last went out (performance.now()), and the timer of the next ones when they wait for batchIntervalMs. */
  private batchesSentAt = Number.NEGATIVE_INFINITY;
  private batchTimer: NodeJS.Timeout | undefined;
  /** Clients that asked for batches; the others get one frame per message. */
  private readonly batchClients = new Set<Client>();
  /** This turn's player messages for the batch clients, in order. */
  private turn: TurnEntry[] = [];
  /** Key (`status:<id>`, `playback:<id>`) -> its entry in `turn`. */
  private readonly turnKeys = new Map<string, TurnEntry>();
  /** Batch clients with messages of their own this turn. */
  private readonly ownQueued = new Set<Client>();
  /** Per player: when its last playback update went out, and the latest one held back. */
  private readonly playback = new Map<string, { sentAt: number; pending: string | undefined }>();
  private readonly playbackPending = new Set<string>();
  private playbackTimer: ClockTimer | undefined;
  private playbackDueAt: number | undefined;
  private running = false;
  private readonly counters = {
    messagesSent: 0,
    coalesced: 0,
    superseded: 0,
    batchesSent: 0,
    dropped: 0,
    closedForBackpressure: 0,
    rejectedUnauthorized: 0,
    rejectedOverLimit: 0,
    renewed: 0,
    invalidMessages: 0,
    heartbeatTimeouts: 0,
  };

  constructor(private readonly options: RealtimeGatewayOptions) {
    this.wss = options.wss;
    this.registry = options.registry;
    this.logger = (options.logger ?? silentLogger).child({ component: 'realtime' });
    this.clock = options.clock ?? realClock;
    this.validator = options.validator ?? getValidator();
    this.coalesceMs = nonNegative(options.coalesceMs, DEFAULT_COALESCE_MS);
    this.maxBufferedBytes = nonNegative(options.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES);
    this.closeBufferedBytes = Math.max(this.maxBufferedBytes, nonNegative(options.closeBufferedBytes, 4 * this.maxBufferedBytes));
    this.pingIntervalMs = nonNegative(options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
    this.closeGraceMs = nonNegative(options.closeGraceMs, DEFAULT_CLOSE_GRACE_MS);
    this.maxMessageBytes = nonNegative(options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
    this.batchIntervalMs = nonNegative(options.batchIntervalMs, DEFAULT_BATCH_INTERVAL_MS);
    this.batchIntervalClients = Math.max(1, nonNegative(options.batchIntervalClients, DEFAULT_BATCH_INTERVAL_CLIENTS));
    this.maxPerUser = nonNegative(options.maxConnectionsPerUser, DEFAULT_MAX_CONNECTIONS_PER_USER);
    this.maxPerAddress = nonNegative(options.maxConnectionsPerAddress, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
  }

  /**
   * Decides an upgrade before it is accepted (HubHttpServer.gateUpgrades): no valid
   * token is a 401, one connection too many for the user or the address a 429; a
   * refused client never gets a socket, so it costs no WebSocket memory.
   */
  admit(request: IncomingMessage): UpgradeVerdict {
    const token = accessTokenFromRequest(request);
    const user = token !== undefined ? this.verify(token) : undefined;
    if (!token || !user) {
      this.counters.rejectedUnauthorized++;
      return { ok: false, status: 401, code: 'unauthorized', message: 'send a valid access token (subprotocols "bearer", <token>)' };
    }
    const handshake = parseHandshakeOptions(request, this.validator);
    if (!handshake.ok) {
      this.counters.invalidMessages++;
      return { ok: false, status: 400, code: 'invalid_query', message: handshake.message };
    }
    const address = this.addressOf(request);
    const clients = [...this.clients.values()];
    if (clients.filter((c) => c.user.id === user.id).length >= this.maxPerUser) {
      this.counters.rejectedOverLimit++;
      return { ok: false, status: 429, code: 'too_many_connections', message: `a user may have at most ${this.maxPerUser} live connections; close one first` };
    }
    if (clients.filter((c) => c.address === address).length >= this.maxPerAddress) {
      this.counters.rejectedOverLimit++;
      return { ok: false, status: 429, code: 'too_many_connections', message: `one address may have at most ${this.maxPerAddress} live connections; close one first` };
    }
    this.admitted.set(request, { user, token, handshake: handshake.options });
    return { ok: true };
  }

  /**
   * Checks every connection's token and user again (call it when rights change:
   * a user demoted, disabled or deleted, a sign-in revoked): a connection whose
   * token no longer passes is closed with 4401 at once; the others go on with
   * the user's current role.
   */
  recheck(): void {
    for (const client of [...this.clients.values()]) {
      if (client.closing) continue;
      const user = this.verify(client.token);
      if (!user || user.id !== client.user.id) {
        this.dropUnauthorized(client, 'unauthorized: the access to this hub was withdrawn (signed out, disabled or deleted)');
        continue;
      }
      client.user = user;
      for (const [key, held] of [...client.pending]) if (!this.visible(client, held.deviceId)) client.pending.delete(key);
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  stats(): RealtimeGatewayStats {
    return { clients: this.clients.size, ...this.counters };
  }

  private addressOf(request: IncomingMessage): string {
    return (this.options.clientAddress ?? connectionAddress)(request);
  }

  /** Serves every new connection of the WebSocketServer and follows the registry. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const onConnection = (ws: WebSocket, request: IncomingMessage): void => this.accept(ws, request);
    this.wss.on('connection', onConnection);
    this.cleanups.push(() => this.wss.off('connection', onConnection));
    this.listenToRegistry();
    this.scheduleHeartbeat();
  }

  /** Removes every listener it added, clears every timer and closes its clients with 1001. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
    this.playbackTimer?.cancel();
    this.playbackTimer = undefined;
    this.flushTurn();
    this.endTurn();
    for (const client of [...this.clients.values()]) {
      this.forget(client);
      if (client.ws.readyState === WebSocket.OPEN || client.ws.readyState === WebSocket.CONNECTING) {
        client.ws.close(WS_CLOSE.goingAway, 'the hub is stopping');
      }
    }
  }

  /** Sends every held-back playback update and this turn's batches now (tests, and anyone who cannot wait for the next tick). */
  flush(): void {
    this.deliverPendingPlayback(true);
    for (const client of this.clients.values()) this.flushClient(client, true);
    this.flushTurn();
  }

  // ---- connections ----

  private accept(ws: WebSocket, request: IncomingMessage): void {
    // Normally admit() has decided at the upgrade; a server without that gate is checked here.
    const admitted = this.admitted.get(request);
    const identity = admitted ?? this.authenticate(request);
    this.admitted.delete(request);
    if (!identity) {
      this.counters.rejectedUnauthorized++;
      ws.close(WS_CLOSE.unauthorized, 'unauthorized: send a valid access token (subprotocols "bearer", <token>)');
      return;
    }
    const handshake: HandshakeParse = admitted ? { ok: true, options: admitted.handshake } : parseHandshakeOptions(request, this.validator);
    if (!handshake.ok) {
      this.counters.invalidMessages++;
      ws.close(WS_CLOSE.invalidQuery, closeReason(`invalid_query: ${handshake.message}`));
      return;
    }
    const { user, token } = identity;
    const client: Client = {
      ws,
      socket: request.socket,
      corked: false,
      user,
      token,
      address: this.addressOf(request),
      all: false,
      devices: new Set(),
      alive: true,
      batch: false,
      own: [],
      pending: new Map(),
      closing: false,
    };
    this.clients.set(ws, client);
    this.scheduleExpiry(client);
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('error', (error) => this.logger.debug('websocket client error', { userId: user.id, err: error }));
    ws.on('close', () => this.forget(client));
    this.logger.debug('websocket client connected', { userId: user.id });
    // What the upgrade URL asked for, as if sent as the first messages: the first picture leaves now.
    if (handshake.options.batch !== undefined) this.setOptions(client, handshake.options.batch);
    for (const topic of handshake.options.topics) this.subscribe(client, topic);
  }

  private authenticate(request: IncomingMessage): { user: RequestUser; token: string } | undefined {
    const token = accessTokenFromRequest(request);
    const user = token ? this.verify(token) : undefined;
    return token && user ? { user, token } : undefined;
  }

  private verify(token: string): RequestUser | undefined {
    try {
      return this.options.authenticate(token);
    } catch (error) {
      this.logger.warn('websocket authentication failed', { err: error });
      return undefined;
    }
  }

  private expiryOf(token: string): number | undefined {
    try {
      return this.options.tokenExpiresAt?.(token);
    } catch (error) {
      this.logger.warn('could not read when an access token expires', { err: error });
      return undefined;
    }
  }

  /** Closes the connection with 4401 when its token expires. */
  private scheduleExpiry(client: Client): void {
    client.expiryTimer?.cancel();
    client.expiryTimer = undefined;
    const expiresAt = this.expiryOf(client.token);
    if (expiresAt === undefined) return;
    client.expiryTimer = this.clock.setTimeout(() => {
      client.expiryTimer = undefined;
      this.dropUnauthorized(client, 'unauthorized: the access token expired; send {"type":"renew","accessToken":...} before it does');
    }, Math.max(0, expiresAt - this.clock.now()));
  }

  /** Nothing more is sent to this client: it is closed with 4401 and forgotten. */
  private dropUnauthorized(client: Client, reason: string): void {
    this.counters.rejectedUnauthorized++;
    client.closing = true;
    this.forget(client);
    this.logger.debug('websocket client closed: not authorized any more', { userId: client.user.id, reason });
    // ws destroys the socket itself when the close handshake is not answered in time.
    if (client.ws.readyState === WebSocket.OPEN || client.ws.readyState === WebSocket.CONNECTING) client.ws.close(WS_CLOSE.unauthorized, reason);
  }

  private renew(client: Client, token: string): void {
    const user = this.verify(token);
    if (!user || user.id !== client.user.id) {
      return this.reject(client, 'invalid_token', 'the access token is not valid, or belongs to another user; the connection keeps its current token');
    }
    client.token = token;
    client.user = user;
    this.scheduleExpiry(client);
    this.counters.renewed++;
    const expiresAt = this.expiryOf(token);
    this.send(client, { type: 'renewed', expiresAt: new Date(expiresAt ?? this.clock.now()).toISOString() });
  }

  /** Drops a client and its timers; the socket is the caller's business. */
  private forget(client: Client): void {
    if (!this.clients.delete(client.ws)) return;
    this.batchClients.delete(client);
    this.ownQueued.delete(client);
    client.own = [];
    this.clearFlushTimer(client);
    client.killTimer?.cancel();
    client.killTimer = undefined;
    client.expiryTimer?.cancel();
    client.expiryTimer = undefined;
    client.pending.clear();
    this.logger.debug('websocket client gone', { userId: client.user.id });
  }

  // ---- client messages ----

  private onMessage(client: Client, data: RawData, isBinary: boolean): void {
    client.alive = true;
    if (client.closing) return;
    const size = rawSize(data);
    if (size > this.maxMessageBytes) {
      return this.reject(client, 'message_too_large', `a message may have at most ${this.maxMessageBytes} bytes; this one has ${size}`);
    }
    if (isBinary) return this.reject(client, 'invalid_message', 'send JSON text messages, not binary ones');
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawText(data));
    } catch {
      return this.reject(client, 'invalid_json', 'the message is not JSON; send e.g. {"type":"subscribe","topic":"device.*"}');
    }
    const checked = this.validator.check('ws-client-message', parsed);
    if (!checked.ok) return this.reject(client, 'validation_failed', checked.error.message, checked.error.details);
    this.handle(client, checked.value);
  }

  private handle(client: Client, message: WsClientMessage): void {
    switch (message.type) {
      case 'ping':
        return this.send(client, { type: 'pong' });
      case 'subscribe':
        return this.subscribe(client, message.topic);
      case 'unsubscribe':
        return this.unsubscribe(client, message.topic);
      case 'renew':
        return this.renew(client, message.accessToken);
      case 'options':
        return this.setOptions(client, message.batch);
    }
  }

  /** Batches on or off; what was queued for the client so far leaves as it was asked for. */
  private setOptions(client: Client, batch: boolean | undefined): void {
    if (batch === undefined || batch === client.batch) return;
    this.flushTurn();
    client.batch = batch;
    if (batch) this.batchClients.add(client);
    else this.batchClients.delete(client);
  }

  private subscribe(client: Client, topic: string): void {
    const deviceId = topicDevice(topic);
    if (deviceId === undefined) client.all = true;
    else client.devices.add(deviceId);
    // The first picture: what the matching players look like now. An unknown or hidden player looks the same: nothing.
    const states = deviceId === undefined ? this.registry.list() : [this.registry.get(deviceId)].filter(isDefined);
    const at = this.now();
    for (const state of states) {
      if (client.closing || !this.visible(client, state.deviceId)) continue;
      client.pending.delete(`status:${state.deviceId}`);
      client.pending.delete(`playback:${state.deviceId}`);
      this.sendText(client, viewMessageJson(state, 'status', at));
      this.sendText(client, viewMessageJson(state, 'playback', at));
    }
    this.send(client, { type: 'subscribed', topic });
  }

  private unsubscribe(client: Client, topic: string): void {
    const deviceId = topicDevice(topic);
    if (deviceId === undefined) client.all = false;
    else client.devices.delete(deviceId);
    for (const [key, held] of [...client.pending]) {
      if (!subscribed(client, held.deviceId)) client.pending.delete(key);
    }
    this.send(client, { type: 'unsubscribed', topic });
  }

  private reject(client: Client, code: string, message: string, details?: ErrorDetail[]): void {
    this.counters.invalidMessages++;
    this.send(client, { type: 'error', error: { code, message, ...(details ? { details } : {}) } });
  }

  // ---- the device model ----

  private listenToRegistry(): void {
    const { bus } = this.registry;
    bus.on(this, 'device-added', (state) => this.onDeviceAdded(state));
    bus.on(this, 'state', (state, previous) => this.onState(state, previous));
    bus.on(this, 'event', (event) => this.onEvent(event));
    bus.on(this, 'device-removed', (deviceId) => this.onRemoved(deviceId));
    this.cleanups.push(() => bus.off(this));
  }

  private onDeviceAdded(state: DeviceState): void {
    if (this.clients.size === 0) return;
    const at = this.now();
    this.broadcast(state.deviceId, viewMessageJson(state, 'status', at), `status:${state.deviceId}`);
    this.offerPlayback(state.deviceId, viewMessageJson(state, 'playback', at));
  }

  private onState(state: DeviceState, previous: DeviceState): void {
    if (this.clients.size === 0) return;
    const at = this.now();
    const now = deviceViews(state);
    const before = deviceViews(previous);
    if (!sameView(now.status, before.status)) this.broadcast(state.deviceId, viewMessageJson(state, 'status', at), `status:${state.deviceId}`);
    if (!sameView(now.playback, before.playback)) this.offerPlayback(state.deviceId, viewMessageJson(state, 'playback', at));
  }

  private onEvent(event: DeviceEvent): void {
    if (this.clients.size === 0) return;
    // {"type":"device.event","deviceId":...,"event":...} around the payload's JSON, made once per event for every surface.
    this.broadcast(event.deviceId, `{"type":"device.event","deviceId":${JSON.stringify(event.deviceId)},"event":${eventPayloadJson(event)}}`, undefined);
  }

  private onRemoved(deviceId: string): void {
    this.playback.delete(deviceId);
    this.playbackPending.delete(deviceId);
    for (const client of this.clients.values()) {
      client.pending.delete(`status:${deviceId}`);
      client.pending.delete(`playback:${deviceId}`);
    }
    if (this.clients.size === 0) return;
    const message: WsServerMessage = { type: 'device.removed', deviceId };
    this.broadcast(deviceId, JSON.stringify(message), undefined);
  }

  /**
   * A player message to every client subscribed to the player that may see it. Clients without
   * batches get it at once, the text encoded once for all of them (ws frames a Buffer without
   * copying it; a string it encodes per client); batch clients at the end of the turn. `key`
   * names a state message (status, playback) that a later one of the same player replaces.
   */
  private broadcast(deviceId: string, text: string, key: string | undefined): void {
    if (this.batchClients.size > 0) this.addToTurn(deviceId, text, key);
    if (this.batchClients.size === this.clients.size) return;
    let encoded: Buffer | undefined;
    for (const client of this.clients.values()) {
      if (client.batch || client.closing || !subscribed(client, deviceId) || !this.visible(client, deviceId)) continue;
      if (key !== undefined && key.startsWith('playback:') && this.isCongested(client)) {
        this.hold(client, key, deviceId, text);
        continue;
      }
      encoded ??= Buffer.from(text, 'utf8');
      this.write(client, encoded);
    }
  }

  /** Clients with the same audience get the same frame: who they are as far as visibility goes, and what they subscribed to. */
  private audienceOf(client: Client): string {
    let who = client.user.id;
    try {
      who = this.options.visibilityKey?.(client.user) ?? who;
    } catch (error) {
      this.logger.error('visibilityKey failed; the client gets a frame of its own', { userId: client.user.id, err: error });
    }
    return client.all ? `${who}\n*` : `${who}\n${[...client.devices].sort().join(',')}`;
  }

  private visible(client: Client, deviceId: string): boolean {
    try {
      return this.options.canSee(client.user, deviceId);
    } catch (error) {
      this.logger.error('canSee failed; the player is hidden from this client', { userId: client.user.id, deviceId, err: error });
      return false;
    }
  }

  // ---- batches ----

  private addToTurn(deviceId: string, text: string, key: string | undefined): void {
    const entry: TurnEntry = { deviceId, text, key, superseded: false };
    if (key !== undefined) {
      const earlier = this.turnKeys.get(key);
      if (earlier) {
        earlier.superseded = true;
        this.counters.superseded++;
      }
      this.turnKeys.set(key, entry);
    }
    this.turn.push(entry);
    this.scheduleEndOfTurn();
  }

  /**
   * A message for one client. A batch client's waits for the end of the turn, ahead of the
   * player messages that follow it: the player messages queued before it are sent first.
   */
  private send(client: Client, message: WsServerMessage): void {
    this.sendText(client, JSON.stringify(message));
  }

  /** send() of a message already in JSON text. */
  private sendText(client: Client, text: string): void {
    if (!client.batch) {
      this.write(client, text);
      return;
    }
    if (client.closing) return;
    if (this.turn.length > 0) this.flushTurn();
    client.own.push(text);
    this.ownQueued.add(client);
    this.scheduleEndOfTurn();
  }

  private scheduleEndOfTurn(): void {
    this.turnImmediate ??= setImmediate(() => this.endTurn());
  }

  /**
   * Sends the batches, unless the last went out less than batchInterval() ago and no client waits
   * for an answer: then the player messages wait for the rest of it, the turns between gathered
   * into one frame per client (a busy fleet costs the hub at most about 1000 / batchIntervalMs ×
   * batchIntervalClients frames a second, however many clients). A real timer, not the clock: this
   * paces writes to sockets, it measures no time a user sees.
   */
  private endTurn(): void {
    if (this.turnImmediate) clearImmediate(this.turnImmediate);
    this.turnImmediate = undefined;
    const wait = this.batchesSentAt + this.batchInterval() - performance.now();
    // A client's own answers (subscribed, pong, errors) never wait: they take the turns gathered so far with them.
    if (wait <= 0 || this.ownQueued.size > 0) this.flushTurn();
    else if (!this.batchTimer && this.turn.length > 0) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = undefined;
        this.flushTurn();
        this.uncorkAll();
      }, Math.ceil(wait));
    }
    this.uncorkAll();
  }

  /** The pacing of batches now: the whole batchIntervalMs from batchIntervalClients batch clients on, less for fewer. */
  private batchInterval(): number {
    return this.batchIntervalMs * Math.min(1, this.batchClients.size / this.batchIntervalClients);
  }

  /**
   * Sends each batch client one frame: its own messages, then the turn's player messages it may
   * see. Clients of the same user with the same subscriptions share one encoded frame.
   */
  private flushTurn(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const entries = this.turn;
    this.turn = [];
    this.turnKeys.clear();
    if (entries.length === 0 && this.ownQueued.size === 0) return;
    this.batchesSentAt = performance.now();
    const shared = new Map<string, { frame: Buffer; count: number } | undefined>();
    for (const client of this.batchClients) {
      const own = client.own;
      client.own = [];
      if (client.closing) continue;
      const congested = this.isCongested(client);
      if (own.length === 0 && !congested) {
        const audience = this.audienceOf(client);
        let batch = shared.get(audience);
        if (!shared.has(audience)) {
          const texts = this.turnFor(client, entries, false);
          batch = texts.length > 0 ? { frame: Buffer.from(`[${texts.join(',')}]`, 'utf8'), count: texts.length } : undefined;
          shared.set(audience, batch);
        }
        if (batch) this.writeBatch(client, batch.frame, batch.count);
        continue;
      }
      const texts = [...own, ...this.turnFor(client, entries, congested)];
      if (texts.length > 0) this.writeBatch(client, `[${texts.join(',')}]`, texts.length);
    }
    this.ownQueued.clear();
  }

  /** The turn's messages this client gets; a congested client's state messages are held back instead. */
  private turnFor(client: Client, entries: readonly TurnEntry[], congested: boolean): string[] {
    const texts: string[] = [];
    for (const entry of entries) {
      if (entry.superseded || !subscribed(client, entry.deviceId) || !this.visible(client, entry.deviceId)) continue;
      if (congested && entry.key !== undefined) this.hold(client, entry.key, entry.deviceId, entry.text);
      else {
        if (entry.key !== undefined) client.pending.delete(entry.key);
        texts.push(entry.text);
      }
    }
    return texts;
  }

  /** One frame holding `count` messages. */
  private writeBatch(client: Client, frame: string | Buffer, count: number): void {
    this.write(client, frame, count);
    this.counters.batchesSent++;
  }

  // ---- coalescing and backpressure ----

  /** A player's playback changed: sent now when the player has been quiet for `coalesceMs`, else the latest is held until then. */
  private offerPlayback(deviceId: string, text: string): void {
    const now = this.clock.now();
    const slot = this.playback.get(deviceId);
    if (!slot) {
      this.playback.set(deviceId, { sentAt: now, pending: undefined });
      this.broadcast(deviceId, text, `playback:${deviceId}`);
      return;
    }
    if (slot.pending === undefined && now - slot.sentAt >= this.coalesceMs) {
      slot.sentAt = now;
      this.broadcast(deviceId, text, `playback:${deviceId}`);
      return;
    }
    if (slot.pending !== undefined) this.counters.coalesced++;
    slot.pending = text;
    this.playbackPending.add(deviceId);
    this.schedulePlayback(slot.sentAt + this.coalesceMs);
  }

  private schedulePlayback(dueAt: number): void {
    if (this.playbackTimer && this.playbackDueAt !== undefined && this.playbackDueAt <= dueAt) return;
    this.playbackTimer?.cancel();
    this.playbackDueAt = dueAt;
    this.playbackTimer = this.clock.setTimeout(() => {
      this.playbackTimer = undefined;
      this.playbackDueAt = undefined;
      this.deliverPendingPlayback(false);
    }, Math.max(0, dueAt - this.clock.now()));
  }

  /** Sends the held-back playback updates that are due (all of them when `force`), and waits again for the rest. */
  private deliverPendingPlayback(force: boolean): void {
    const now = this.clock.now();
    let nextDue: number | undefined;
    for (const deviceId of [...this.playbackPending]) {
      const slot = this.playback.get(deviceId);
      if (!slot || slot.pending === undefined) {
        this.playbackPending.delete(deviceId);
        continue;
      }
      const due = slot.sentAt + this.coalesceMs;
      if (!force && due > now) {
        nextDue = nextDue === undefined ? due : Math.min(nextDue, due);
        continue;
      }
      const text = slot.pending;
      slot.pending = undefined;
      slot.sentAt = now;
      this.playbackPending.delete(deviceId);
      this.broadcast(deviceId, text, `playback:${deviceId}`);
    }
    if (nextDue !== undefined) this.schedulePlayback(nextDue);
  }

  /** Keeps the latest state message of a congested client, to send once it reads again. */
  private hold(client: Client, key: string, deviceId: string, text: string): void {
    if (client.pending.has(key)) this.counters.dropped++;
    client.pending.set(key, { deviceId, text });
    this.scheduleFlush(client);
  }

  private scheduleFlush(client: Client): void {
    if (client.flushTimer) return;
    client.flushTimer = this.clock.setTimeout(() => {
      client.flushTimer = undefined;
      this.flushClient(client, false);
    }, this.coalesceMs);
  }

  private clearFlushTimer(client: Client): void {
    client.flushTimer?.cancel();
    client.flushTimer = undefined;
  }

  /** Sends what was held back for a congested client once it reads again (all of it when `force`). */
  private flushClient(client: Client, force: boolean): void {
    if (client.closing || client.pending.size === 0 || !this.clients.has(client.ws)) return;
    if (!force && this.isCongested(client)) {
      this.scheduleFlush(client);
      return;
    }
    this.clearFlushTimer(client);
    const held = [...client.pending.values()];
    client.pending.clear();
    if (client.batch) {
      if (this.turn.length > 0) this.flushTurn();
      for (const { deviceId, text } of held) if (this.visible(client, deviceId)) client.own.push(text);
      this.ownQueued.add(client);
      this.scheduleEndOfTurn();
      return;
    }
    for (const { deviceId, text } of held) {
      if (!this.visible(client, deviceId)) continue;
      this.write(client, text);
      if (client.closing) return;
    }
  }

  private isCongested(client: Client): boolean {
    return client.ws.bufferedAmount > this.maxBufferedBytes;
  }

  /** Sends one text frame of `messages` messages (a Buffer holds its UTF-8 bytes). */
  private write(client: Client, text: string | Buffer, messages = 1): void {
    if (client.closing || client.ws.readyState !== WebSocket.OPEN) return;
    this.cork(client);
    client.ws.send(text, { binary: false });
    this.counters.messagesSent += messages;
    const buffered = client.ws.bufferedAmount;
    if (buffered > this.closeBufferedBytes) this.closeSlow(client, buffered);
  }

  /**
   * Holds the client's writes in its socket until this turn of the event loop ends, so the
   * messages of one turn (a burst of player messages, a subscribe's first picture) leave in one
   * system call per client instead of one each. The bytes count in bufferedAmount meanwhile, so
   * the backpressure limits see them.
   */
  private cork(client: Client): void {
    if (client.corked) return;
    client.corked = true;
    client.socket.cork();
    this.corked.push(client);
    this.scheduleEndOfTurn();
  }

  private uncorkAll(): void {
    const corked = this.corked;
    this.corked = [];
    for (const client of corked) {
      client.corked = false;
      client.socket.uncork();
    }
  }

  /** The client cannot keep up: close it (it should reconnect later) and stop buffering for it. */
  private closeSlow(client: Client, buffered: number): void {
    client.closing = true;
    this.counters.closedForBackpressure++;
    client.pending.clear();
    client.own = [];
    this.clearFlushTimer(client);
    this.logger.warn('websocket client too slow; closing it', { userId: client.user.id, bufferedBytes: buffered });
    client.ws.close(WS_CLOSE.tryAgainLater, `too slow: ${buffered} bytes waiting to be sent; reconnect later`);
    // A client that does not read will never read the close frame either: destroy its socket after a grace period.
    client.killTimer = this.clock.setTimeout(() => {
      client.killTimer = undefined;
      client.ws.terminate();
    }, this.closeGraceMs);
  }

  // ---- heartbeat ----

  private scheduleHeartbeat(): void {
    if (!this.running || this.pingIntervalMs <= 0) return;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.heartbeat();
      this.scheduleHeartbeat();
    }, this.pingIntervalMs);
  }

  private heartbeat(): void {
    for (const client of [...this.clients.values()]) {
      if (client.closing) continue;
      if (!client.alive) {
        this.counters.heartbeatTimeouts++;
        this.logger.debug('websocket client did not answer ping; terminating it', { userId: client.user.id });
        this.forget(client);
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      try {
        client.ws.ping();
      } catch (error) {
        this.logger.debug('websocket ping failed', { userId: client.user.id, err: error });
      }
    }
  }

  private now(): Date {
    return new Date(this.clock.now());
  }
}

/**
 * A `device.status` or `device.playback` message as JSON text: the same text as JSON.stringify of
 * { type, deviceId, data: statusPayload or playbackPayload }, around the payload's text the home
 * broker bridge sends too.
 */
function viewMessageJson(state: DeviceState, view: keyof DeviceViews, at: Date): string {
  return `{"type":"device.${view}","deviceId":${JSON.stringify(state.deviceId)},"data":${viewPayloadJson(state, view, at)}}`;
}

/** The player of `device.<id>`; undefined for `device.*`. */
function topicDevice(topic: string): string | undefined {
  return topic === ALL_DEVICES ? undefined : topic.slice(DEVICE_TOPIC_PREFIX.length);
}

function subscribed(client: Client, deviceId: string): boolean {
  return client.all || client.devices.has(deviceId);
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data.byteLength;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function connectionAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

/** A close frame's reason holds at most 123 bytes of UTF-8 (ws throws on more): cut at a character boundary. */
function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

function nonNegative(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}
