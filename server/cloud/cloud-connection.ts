import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { DeviceRegistry } from '../core/device-registry';
import { protocolPlayback, type CloudDeviceInfo } from '../core/device-state';
import { silentLogger, type Logger } from '../log/logger';
import type { ComponentHealth } from '../system/health';
import type { HubCloudConfig } from '../types/schemas';
import { DEMO_CARDS } from '../virtual/cards/demo-cards';
import { VirtualCloud } from '../virtual/virtual-cloud';
import type { VirtualPlayerSpec } from '../virtual/contracts';
import type { SignInLinks } from '../yoto/auth/browser-sign-in';
import type { YotoCard } from '../yoto/card';
import { YotoDeviceCommander } from '../yoto/commands';
import { DeviceCommandError, type CommandResult, type DeviceCommand, type DeviceCommander } from '../yoto/device-command';
import { YotoMqttClient } from '../yoto/mqtt';
import { HARDWARE_VOLUME_MAX, REAL_CLOUD } from '../yoto/protocol';
import { YotoCloudClient } from '../yoto/rest/yoto-cloud-client';

/** Which cloud the hub is talking to right now. */
export type ActiveCloud = 'virtual' | 'yoto';

export type CloudState = 'stopped' | 'starting' | 'running' | 'needs_sign_in' | 'failed';

export interface CloudConnectionOptions {
  settings: HubCloudConfig;
  /** The hub's data directory: the real cloud's sign-in and the virtual cloud's state live under it. */
  dataDir: string;
  /** The home broker: the virtual players talk on it, and the adapter follows them there (read when the cloud starts). */
  brokerUrl: () => string;
  /** How the virtual players log in to the home broker (they publish `device/...` there as the Yoto side; read when the cloud starts). */
  virtualPlayersLogin: () => { username?: string; password?: string };
  /** Set when the home broker is external and has a login: the virtual cloud's adapter uses it (that broker cannot check virtual-cloud tokens). */
  externalBrokerLogin?: { username: string; password: string };
  registry: DeviceRegistry;
  logger?: Logger;
  /** How often the device list is read again from the cloud (default 5 minutes). */
  deviceRefreshMs?: number;
  /** How long a player has to confirm a command (default 10 s). */
  commandTimeoutMs?: number;
  /** Overrides for the virtual cloud (tests use a free port and short tokens). */
  virtual?: { accessTokenTtlSeconds?: number; players?: VirtualPlayerSpec[] };
}

export interface CloudConnectionEvents {
  state: [state: CloudState, active: ActiveCloud | undefined];
  /** A sign-in to the real Yoto cloud is waiting for the user: open `links.authorizeUrl`. */
  'sign-in': [links: SignInLinks];
}

/** The client id the hub uses with its own virtual cloud. */
const VIRTUAL_CLIENT_ID = 'yoto-smart-stream-hub';
const CARD_CACHE_MS = 60_000;

/** Everything that talks to one cloud; replaced as a whole when the hub switches clouds. */
interface CloudSession {
  active: ActiveCloud;
  client: YotoCloudClient;
  virtual: VirtualCloud | undefined;
  mqtt: YotoMqttClient;
  commander: YotoDeviceCommander;
  refreshTimer: NodeJS.Timeout;
  cards: Map<string, { card: YotoCard; at: number }>;
}

/**
 * The hub's one way to the Yoto cloud: the real one (OAuth sign-in, REST,
 * AWS IoT MQTT) or the local virtual one, through the same adapter code.
 * It keeps the device registry fed (device list from REST, live state from
 * MQTT) and carries out device commands. In `auto` mode it runs the virtual
 * cloud until a client id is set and the user has signed in, then switches
 * to the real cloud without a restart.
 */
export class CloudConnection extends EventEmitter<CloudConnectionEvents> implements DeviceCommander {
  private readonly logger: Logger;
  private session: CloudSession | undefined;
  private realClient: YotoCloudClient | undefined;
  private signInLinks: SignInLinks | undefined;
  private currentState: CloudState = 'stopped';
  private lastError: string | undefined;
  /** Bumped by stop(): work that started before it does nothing when it finishes. */
  private generation = 0;
  private switching: Promise<void> = Promise.resolve();
  private commandResolver: ((deviceId: string, command: DeviceCommand) => Promise<DeviceCommand>) | undefined;

  constructor(private readonly options: CloudConnectionOptions) {
    super();
    this.logger = (options.logger ?? silentLogger).child({ component: 'cloud' });
  }

  get state(): CloudState {
    return this.currentState;
  }

  get active(): ActiveCloud | undefined {
    return this.session?.active;
  }

  /** The running virtual cloud, when that is the one in use. */
  get virtualCloud(): VirtualCloud | undefined {
    return this.session?.virtual;
  }

  /** The REST side of the cloud in use (cards, icons, audio upload, device settings). */
  get api(): YotoCloudClient['api'] | undefined {
    return this.session?.client.api;
  }

  get mqtt(): YotoMqttClient | undefined {
    return this.session?.mqtt;
  }

  /**
   * The link a person opens to sign in to the real Yoto cloud: the pending one, or a new
   * sign-in when none is waiting. Undefined when no client id is configured (virtual only)
   * or the hub is already on the real cloud.
   */
  async requestSignIn(): Promise<SignInLinks | undefined> {
    const client = this.realClient;
    if (!client || this.session?.active === 'yoto') return undefined;
    if (!this.signInLinks) await this.beginSignIn(client, this.generation);
    return this.signInLinks;
  }

  /** For the embedded broker: does this MQTT password carry an access token of the running virtual cloud? */
  verifyVirtualAccessToken(token: string): boolean {
    return this.session?.virtual?.verifyAccessToken(token) ?? false;
  }

  async start(): Promise<void> {
    if (this.currentState !== 'stopped') return;
    const generation = this.generation;
    this.setState('starting');
    const { settings } = this.options;
    try {
      if (settings.mode === 'virtual' || !settings.clientId) {
        await this.startVirtual();
      } else {
        const client = new YotoCloudClient({
          clientId: settings.clientId,
          tokenFile: path.join(this.options.dataDir, 'yoto-cloud', 'tokens.json'),
          logger: this.logger.child({ component: 'yoto-cloud' }),
        });
        this.realClient = client;
        client.tokens.on('state-changed', this.onAuthState);
        if ((await client.load()) === 'signed-in') {
          await this.startSession('yoto', client, undefined);
        } else {
          await this.beginSignIn(client, generation);
          if (settings.mode === 'auto') await this.startVirtual();
        }
      }
      if (generation !== this.generation) return;
      this.setState(this.session ? 'running' : 'needs_sign_in');
    } catch (error) {
      this.lastError = (error as Error).message;
      await this.stopSession();
      this.setState('failed');
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.generation++;
    await this.switching.catch(() => undefined);
    await this.stopSession();
    const client = this.realClient;
    this.realClient = undefined;
    this.signInLinks = undefined;
    if (client) {
      client.tokens.off('state-changed', this.onAuthState);
      await client.close();
    }
    this.setState('stopped');
  }

  /** Carries out a command on the cloud in use; see DeviceCommander. */
  async execute(deviceId: string, command: DeviceCommand, options?: { timeoutMs?: number }): Promise<CommandResult> {
    const commander = this.session?.commander;
    if (!commander) throw new DeviceCommandError('offline', 'the hub is not connected to a Yoto cloud', deviceId, command.type);
    const resolved = this.commandResolver ? await this.commandResolver(deviceId, command) : command;
    const result = await commander.execute(deviceId, resolved, options);
    return resolved === command ? result : { ...result, command: command.type };
  }

  /**
   * Commands that name a card some other way than its id (by title, at
   * random from a group) are turned into `play` by this resolver (the
   * family library provides it).
   */
  useCommandResolver(resolver: ((deviceId: string, command: DeviceCommand) => Promise<DeviceCommand>) | undefined): void {
    this.commandResolver = resolver;
  }

  /** A card from the cloud in use (cached for a minute); undefined when the cloud does not know it. */
  async getCard(cardId: string): Promise<YotoCard | undefined> {
    const session = this.session;
    if (!session) return undefined;
    const cached = session.cards.get(cardId);
    if (cached && Date.now() - cached.at < CARD_CACHE_MS) return cached.card;
    try {
      const card = await session.client.api.getCard(cardId);
      session.cards.set(cardId, { card, at: Date.now() });
      return card;
    } catch (error) {
      this.logger.debug('card not available from the cloud', { cardId, err: error });
      return undefined;
    }
  }

  /** Reads the device list from the cloud again and follows exactly those players. */
  async refreshDevices(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const devices = await session.client.api.listDevices();
    if (session !== this.session) return;
    const infos: CloudDeviceInfo[] = devices.map((device) => {
      const player = session.virtual?.fleet.player(device.deviceId);
      return {
        deviceId: device.deviceId,
        name: device.name,
        online: device.online,
        deviceType: device.deviceType,
        deviceFamily: device.deviceFamily,
        ...(player ? { hasNightLight: player.spec.hasNightLight } : {}),
      };
    });
    this.options.registry.syncDevices(infos);
    session.mqtt.setDevices(infos.map((info) => info.deviceId));
  }

  health(): ComponentHealth {
    const session = this.session;
    const mqtt = session?.mqtt.stats();
    const status: ComponentHealth['status'] =
      this.currentState === 'running'
        ? mqtt?.state === 'connected'
          ? 'ok'
          : 'degraded'
        : this.currentState === 'starting'
          ? 'starting'
          : this.currentState === 'stopped'
            ? 'stopped'
            : this.currentState === 'needs_sign_in'
              ? 'degraded'
              : 'error';
    return {
      status,
      state: this.currentState,
      mode: this.options.settings.mode,
      ...(session ? { active: session.active } : {}),
      ...(session?.virtual ? { virtualCloudUrl: session.virtual.url } : {}),
      ...(mqtt ? { mqtt: { state: mqtt.state, url: mqtt.url, devices: mqtt.devices, messagesIn: mqtt.messagesIn, malformed: mqtt.malformed, droppedFields: mqtt.droppedFields, connections: mqtt.connections } } : {}),
      ...(this.signInLinks ? { signInUrl: this.signInLinks.authorizeUrl } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async startVirtual(): Promise<void> {
    const { settings, dataDir } = this.options;
    const virtual = new VirtualCloud({
      host: settings.virtualHost,
      port: settings.virtualPort,
      brokerUrl: this.options.brokerUrl(),
      fleetOptions: { mqttOptions: { ...this.options.virtualPlayersLogin() } },
      dataDir: path.join(dataDir, 'virtual-cloud'),
      demoCards: DEMO_CARDS,
      ...(this.options.virtual?.players ? { players: this.options.virtual.players } : {}),
      logger: this.logger,
      ...(this.options.virtual?.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: this.options.virtual.accessTokenTtlSeconds } : {}),
    });
    await virtual.start();
    const client = new YotoCloudClient({
      clientId: VIRTUAL_CLIENT_ID,
      tokenFile: path.join(dataDir, 'virtual-cloud', 'hub-tokens.json'),
      apiUrl: virtual.url,
      authUrl: virtual.url,
      logger: this.logger.child({ component: 'virtual-cloud-client' }),
    });
    try {
      // The virtual login approves at once; the hub plays the browser, so the same PKCE code runs.
      if ((await client.load()) !== 'signed-in') await signInHeadless(client);
      await this.startSession('virtual', client, virtual);
      // The virtual cloud is local: the hub counts as started once it follows its players.
      await this.session?.mqtt.whenConnected();
    } catch (error) {
      await client.close();
      await virtual.stop();
      throw error;
    }
  }

  private async startSession(active: ActiveCloud, client: YotoCloudClient, virtual: VirtualCloud | undefined): Promise<void> {
    const { registry } = this.options;
    const mqtt = new YotoMqttClient({
      url: virtual ? this.options.brokerUrl() : REAL_CLOUD.mqttUrl,
      ...(virtual && this.options.externalBrokerLogin ? { homeBrokerLogin: this.options.externalBrokerLogin } : {}),
      tokenProvider: () => client.tokens.getAccessToken(),
      logger: this.logger.child({ component: active === 'virtual' ? 'virtual-cloud-mqtt' : 'yoto-mqtt' }),
    });
    mqtt.on('message', (message) => registry.ingest(message));
    mqtt.on('malformed', (message) => this.logger.warn('malformed message from a player, ignored', { deviceId: message.deviceId, topic: message.topic, reason: message.reason }));
    const commander = new YotoDeviceCommander({
      client: mqtt,
      getPlayback: (deviceId) => {
        const state = registry.get(deviceId);
        return state ? protocolPlayback(state) : undefined;
      },
      getCard: (cardId) => this.getCard(cardId),
      getVolume: (deviceId) => {
        const volume = registry.get(deviceId)?.volume;
        return volume ? { level: volume.level, max: volume.maxLevel ?? HARDWARE_VOLUME_MAX } : undefined;
      },
      ...(this.options.commandTimeoutMs !== undefined ? { timeoutMs: this.options.commandTimeoutMs } : {}),
    });
    const refreshTimer = setInterval(() => {
      this.refreshDevices().catch((error: unknown) => this.logger.warn('could not refresh the device list', { err: error }));
    }, this.options.deviceRefreshMs ?? 5 * 60_000);
    this.session = { active, client, virtual, mqtt, commander, refreshTimer, cards: new Map() };
    try {
      await this.refreshDevices();
    } catch (error) {
      await this.stopSession();
      throw new Error(`could not read the device list from the ${active === 'virtual' ? 'virtual' : 'Yoto'} cloud: ${(error as Error).message}`);
    }
    mqtt.start();
    this.lastError = undefined;
    this.logger.info(active === 'virtual' ? 'using the virtual Yoto cloud' : 'using the Yoto cloud', {
      players: mqtt.devices().length,
      ...(virtual ? { url: virtual.url } : {}),
    });
  }

  private async stopSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    clearInterval(session.refreshTimer);
    session.commander.dispose();
    await session.mqtt.stop();
    session.mqtt.removeAllListeners();
    // The real client outlives a session (it holds the sign-in); the virtual one belongs to it.
    if (session.client !== this.realClient) await session.client.close();
    await session.virtual?.stop();
  }

  private async beginSignIn(client: YotoCloudClient, generation: number): Promise<void> {
    const { links, done } = await client.startSignIn({ port: this.options.settings.signInPort });
    this.signInLinks = links;
    this.logger.warn('sign in to the Yoto cloud: open this link in a browser', { url: links.authorizeUrl });
    this.emit('sign-in', links);
    done.then(
      () => {
        if (generation !== this.generation) return;
        this.signInLinks = undefined;
        this.switchToReal(client, generation);
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        this.signInLinks = undefined;
        this.lastError = `sign-in failed: ${(error as Error).message}`;
        this.logger.error('Yoto sign-in failed', { err: error });
      },
    );
  }

  private switchToReal(client: YotoCloudClient, generation: number): void {
    this.switching = this.switching.then(async () => {
      if (generation !== this.generation) return;
      this.logger.info('signed in to the Yoto cloud; switching from the virtual cloud');
      await this.stopSession();
      try {
        await this.startSession('yoto', client, undefined);
        this.setState('running');
      } catch (error) {
        this.lastError = (error as Error).message;
        this.logger.error('could not start on the Yoto cloud', { err: error });
        this.setState('failed');
      }
    });
  }

  /** The real cloud revoked the sign-in: ask for a new one. */
  private readonly onAuthState = (state: string): void => {
    const client = this.realClient;
    if (state !== 'needs-sign-in' || !client || this.signInLinks) return;
    const generation = this.generation;
    this.beginSignIn(client, generation).catch((error: unknown) => this.logger.error('could not start a Yoto sign-in', { err: error }));
  };

  private setState(state: CloudState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state', state, this.session?.active);
  }
}

/** The browser's part of a PKCE sign-in against the virtual cloud, which approves at once. */
async function signInHeadless(client: YotoCloudClient): Promise<void> {
  const { links, done } = await client.startSignIn({ port: 0 });
  const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
  const callback = approval.headers.get('location');
  if (approval.status !== 302 || !callback) throw new Error(`the virtual cloud's login did not approve the hub (HTTP ${approval.status})`);
  const page = await fetch(callback);
  await page.arrayBuffer();
  await done;
}
