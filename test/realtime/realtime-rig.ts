import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import { ManualClock } from '../../server/time/clock';
import { DeviceRegistry } from '../../server/core/device-registry';
import { HubHttpServer } from '../../server/http/http-server';
import type { RequestUser } from '../../server/http/request-user';
import { silentLogger } from '../../server/log/logger';
import { RealtimeGateway, type RealtimeGatewayOptions } from '../../server/realtime';
import type { WsServerMessage } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';
import { makeTempDir } from '../helpers/temp-dir';

export const USERS: Record<string, RequestUser> = {
  'token-admin': { id: 'u-admin', email: 'admin@example.com', role: 'admin' },
  'token-admin2': { id: 'u-admin2', email: 'admin2@example.com', role: 'admin' },
  'token-alice': { id: 'u-alice', email: 'alice@example.com', role: 'member' },
  'token-bob': { id: 'u-bob', email: 'bob@example.com', role: 'member' },
};

/** Who owns which player (members see only their own). */
export const OWNERS: Record<string, string> = {
  livingRoomPlayer: 'u-alice',
  kidsBedroomMini: 'u-bob',
  y2iYT7ItkMRWbuMzTDuGjgmS: 'u-alice',
};

export function canSee(user: RequestUser, deviceId: string): boolean {
  return user.role === 'admin' || OWNERS[deviceId] === user.id;
}

export interface Rig {
  hub: HubHttpServer;
  registry: DeviceRegistry;
  gateway: RealtimeGateway;
  clock: ManualClock;
  /** ws://127.0.0.1:<port>/ws */
  url: string;
  clients: TestClient[];
  connect(token: string | undefined, how?: 'protocol' | 'query' | 'header'): Promise<TestClient>;
  /** An upgrade the hub refuses before accepting it: its HTTP status and body. */
  refused(token: string | undefined): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** A real hub server on port 0 with the gateway on its wss, a real registry, and a manual clock for the gateway's timers. */
export async function startRig(options: Partial<Omit<RealtimeGatewayOptions, 'wss' | 'registry' | 'canSee' | 'clock'>> = {}): Promise<Rig> {
  const hub = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir: await makeTempDir('realtime-panel'), logger: silentLogger });
  await hub.listen();
  const clock = new ManualClock(Date.UTC(2026, 0, 10, 8, 0, 0));
  const registry = new DeviceRegistry({ clock });
  const gateway = new RealtimeGateway({
    wss: hub.wss,
    registry,
    authenticate: (token) => USERS[token],
    canSee,
    clock,
    logger: silentLogger,
    pingIntervalMs: 0,
    ...options,
  });
  hub.gateUpgrades((request) => gateway.admit(request));
  gateway.start();
  const url = `ws://127.0.0.1:${hub.port}/ws`;
  const clients: TestClient[] = [];
  return {
    hub,
    registry,
    gateway,
    clock,
    url,
    clients,
    async connect(token, how = 'protocol') {
      const client = await TestClient.connect(url, token, how);
      clients.push(client);
      return client;
    },
    refused(token) {
      return refusedUpgrade(url, token);
    },
    async stop() {
      for (const client of clients) client.ws.terminate();
      gateway.stop();
      registry.stop();
      await hub.close();
    },
  };
}

type Received = WsServerMessage;

/** A real `ws` client that records every message, checks each against ws-server-message, and awaits messages by predicate. */
export class TestClient {
  readonly received: Received[] = [];
  readonly invalid: string[] = [];
  private waiters: Array<{ from: number; test: (m: Received) => boolean; resolve: (m: Received) => void }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Resolves once open (or once closed, for a refused connection: check `closed`). */
  static async connect(url: string, token: string | undefined, how: 'protocol' | 'query' | 'header'): Promise<TestClient> {
    let ws: WebSocket;
    if (token === undefined) ws = new WebSocket(url);
    else if (how === 'protocol') ws = new WebSocket(url, ['bearer', token]);
    else if (how === 'query') ws = new WebSocket(`${url}?access_token=${encodeURIComponent(token)}`);
    else ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } satisfies ClientOptions);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** How many messages arrived so far: pass it to `next` to only look at later ones. */
  get mark(): number {
    return this.received.length;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message from `from` on that passes `test`, now or when it arrives. */
  next<T extends Received['type']>(type: T, test: (m: Extract<Received, { type: T }>) => boolean = () => true, from = 0): Promise<Extract<Received, { type: T }>> {
    const matches = (m: Received): boolean => m.type === type && test(m as Extract<Received, { type: T }>);
    const found = this.received.slice(from).find(matches);
    if (found) return Promise.resolve(found as Extract<Received, { type: T }>);
    return new Promise((resolve) => this.waiters.push({ from, test: matches, resolve: (m) => resolve(m as Extract<Received, { type: T }>) }));
  }

  /** Subscribes and waits for the `subscribed` answer (which follows the first picture). */
  async subscribe(topic: string): Promise<Received[]> {
    const mark = this.mark;
    this.send({ type: 'subscribe', topic });
    await this.next('subscribed', (m) => m.topic === topic, mark);
    return this.received.slice(mark);
  }

  /** Everything the server sent before it answered this ping. */
  async barrier(): Promise<void> {
    const mark = this.mark;
    this.send({ type: 'ping' });
    await this.next('pong', () => true, mark);
  }

  since(mark: number): Received[] {
    return this.received.slice(mark);
  }

  /** The raw socket under the client, to stop reading from it. */
  get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  /** Frames received: a message each, or an array of messages once the client asked for batches. */
  readonly frames: Array<'message' | 'batch'> = [];
  /** The text of each frame, as received. */
  readonly texts: string[] = [];

  /** Asks for batches: every later frame is an array of messages. */
  batch(): void {
    this.send({ type: 'options', batch: true });
  }

  private onMessage(text: string): void {
    const value: unknown = JSON.parse(text);
    this.frames.push(Array.isArray(value) ? 'batch' : 'message');
    this.texts.push(text);
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) this.accept(item, text);
  }

  private accept(value: unknown, text: string): void {
    const checked = getValidator().check('ws-server-message', value);
    if (!checked.ok) {
      this.invalid.push(`${checked.error.message}: ${text.slice(0, 300)}`);
      return;
    }
    const message = checked.value;
    this.received.push(message);
    const index = this.received.length - 1;
    this.waiters = this.waiters.filter((waiter) => {
      if (index < waiter.from || !waiter.test(message)) return true;
      waiter.resolve(message);
      return false;
    });
  }
}

/** A data/events message as a Yoto player sends it (shape of the captured traffic). */
export function playerEvents(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    repeatAll: false,
    streaming: false,
    playbackWait: false,
    sleepTimerActive: false,
    eventUtc: 1766515352,
    ...fields,
  };
}

/** Resolves once `condition` holds, checking on every turn of the event loop (for state with no event to await). */
export async function eventually(condition: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`never happened: ${what}`);
}

/** Opens a WebSocket that the server should refuse at the upgrade; resolves with the HTTP answer (rejects if it was accepted). */
export function refusedUpgrade(url: string, token: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const ws = token === undefined ? new WebSocket(url, { headers }) : new WebSocket(url, ['bearer', token], { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => undefined);
  });
}
