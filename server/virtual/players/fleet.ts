import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { silentLogger, type Logger } from '../../log/logger';
import { realClock, type Clock } from '../../time/clock';
import { mqttLogOption } from '../../yoto/mqtt/mqtt-log';
import { sendWithoutDelay } from '../../yoto/mqtt/no-delay';
import { parseCommandTopic } from '../../yoto/protocol';
import { DEFAULT_VIRTUAL_PLAYERS, type VirtualCardLibrary, type VirtualFleet } from '../contracts';
import { DEFAULT_TIMING, type VirtualPlayerTiming } from './timing';
import { VirtualPlayer, type VirtualPlayerSetup } from './virtual-player';

export interface VirtualPlayerFleetOptions {
  /** The virtual cloud's MQTT broker. */
  brokerUrl: string;
  cards: VirtualCardLibrary;
  specs?: VirtualPlayerSetup[];
  clock?: Clock;
  logger?: Logger;
  /** Extra mqtt.js options for the fleet's connection (credentials, keepalive...). */
  mqttOptions?: Partial<IClientOptions>;
  timing?: Partial<VirtualPlayerTiming>;
  /** Whether players may fetch a streaming track from this URL (default: any http(s) URL). */
  allowStream?: (url: URL) => boolean;
}

export interface VirtualFleetStats {
  connected: boolean;
  players: number;
  commandsReceived: number;
  messagesPublished: number;
  /** Messages not sent because the broker was unreachable (a real player would lose them too). */
  messagesDropped: number;
}

const COMMAND_FILTER = 'device/+/command/#';

/**
 * The virtual cloud's players, all on one MQTT connection: it routes every
 * `device/{id}/command/...` to its player and publishes what players say.
 */
export class VirtualPlayerFleet implements VirtualFleet {
  private readonly options: VirtualPlayerFleetOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timing: VirtualPlayerTiming;
  private readonly byId = new Map<string, VirtualPlayer>();
  private client: MqttClient | undefined;
  private connected = false;
  private readonly counters = { commandsReceived: 0, messagesPublished: 0, messagesDropped: 0 };

  constructor(options: VirtualPlayerFleetOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.logger = (options.logger ?? silentLogger).child({ component: 'virtual-players' });
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    for (const spec of options.specs ?? DEFAULT_VIRTUAL_PLAYERS) this.createPlayer(spec);
  }

  players(): VirtualPlayer[] {
    return [...this.byId.values()];
  }

  player(deviceId: string): VirtualPlayer | undefined {
    return this.byId.get(deviceId);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  stats(): VirtualFleetStats {
    return { connected: this.connected, players: this.byId.size, ...this.counters };
  }

  /** Adds a player; it boots at once if the fleet is running. */
  addPlayer(spec: VirtualPlayerSetup): VirtualPlayer {
    const player = this.createPlayer(spec);
    if (this.client) player.attach();
    return player;
  }

  /** Removes a player without a goodbye, as if it had been unplugged. */
  removePlayer(deviceId: string): boolean {
    const player = this.byId.get(deviceId);
    if (!player) return false;
    player.detach();
    player.removeAllListeners();
    this.byId.delete(deviceId);
    return true;
  }

  /** Connects, subscribes to the players' commands, then boots every player. Rejects if the broker is unreachable. */
  async start(): Promise<void> {
    if (this.client) return;
    const client = mqtt.connect(this.options.brokerUrl, {
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...mqttLogOption(),
      ...this.options.mqttOptions,
      clientId: `yoto-virtual-fleet-${randomBytes(4).toString('hex')}`,
      clean: true,
      resubscribe: true,
    });
    this.client = client;
    client.on('error', (error) => this.logger.warn('virtual players broker error', { err: error }));
    sendWithoutDelay(client);
    // mqtt.js opens a new socket on every reconnection.
    client.on('connect', () => sendWithoutDelay(client));
    try {
      await this.firstConnection(client);
      await client.subscribeAsync(COMMAND_FILTER, { qos: 1 });
    } catch (error) {
      this.client = undefined;
      await this.close(client);
      throw new Error(`virtual players could not connect to ${this.options.brokerUrl}: ${(error as Error).message}`);
    }
    this.setConnected(true);
    client.on('connect', () => client === this.client && this.setConnected(true));
    client.on('close', () => client === this.client && this.setConnected(false));
    client.on('message', (topic, payload) => client === this.client && this.route(topic, payload));
    for (const player of this.byId.values()) player.attach();
    this.logger.info('virtual players online', { players: this.byId.size, broker: this.options.brokerUrl });
  }

  /** Stops every player's timers and streams and closes the connection. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const player of this.byId.values()) player.detach();
    if (client) await this.close(client);
    this.setConnected(false);
  }

  private createPlayer(spec: VirtualPlayerSetup): VirtualPlayer {
    if (this.byId.has(spec.deviceId)) throw new Error(`a virtual player ${spec.deviceId} already exists`);
    const player = new VirtualPlayer(spec, {
      cards: this.options.cards,
      clock: this.clock,
      timing: this.timing,
      logger: this.logger,
      publish: (topic, payload) => this.publish(topic, payload),
      isConnected: () => this.connected,
      ...(this.options.allowStream ? { allowStream: this.options.allowStream } : {}),
    });
    this.byId.set(spec.deviceId, player);
    return player;
  }

  private firstConnection(client: MqttClient): Promise<void> {
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        client.off('error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        client.off('connect', onConnect);
        reject(error);
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
  }

  private route(topic: string, payload: Buffer): void {
    const parsed = parseCommandTopic(topic);
    const player = parsed && this.byId.get(parsed.deviceId);
    if (!parsed || !player) return;
    this.counters.commandsReceived++;
    try {
      player.handleCommand(parsed.command, payload.toString('utf8'));
    } catch (error) {
      // One player's bug must not take the fleet's connection down.
      this.logger.error('virtual player failed on a command', { deviceId: parsed.deviceId, command: parsed.command, err: error });
    }
  }

  private publish(topic: string, payload: unknown): void {
    const client = this.client;
    if (!client || !this.connected) {
      this.counters.messagesDropped++;
      return;
    }
    this.counters.messagesPublished++;
    client.publish(topic, JSON.stringify(payload), { qos: 1 }, (error) => {
      if (error) this.logger.debug('virtual player message not delivered', { topic, err: error });
    });
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    for (const player of this.byId.values()) player.connectionChanged();
  }

  /** Our handlers ignore a client that is no longer current; mqtt.js keeps its own listeners, which clean up its timers. */
  private async close(client: MqttClient): Promise<void> {
    client.on('error', () => undefined);
    await client.endAsync(true);
  }
}
