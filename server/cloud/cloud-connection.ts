import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { DeviceRegistry } from '../core/device-registry';
import { protocolPlayback, type CloudDeviceInfo } from '../core/device-state';
import { silentLogger, type Logger } from '../log/logger';
import type { ComponentHealth } from '../system/health';
import type { HubCloudConfig } from '../types/schemas';
import type { LoginVerdict } from '../broker/embedded-broker';
import { DEMO_CARDS } from '../virtual/cards/demo-cards';
import { VirtualCloud } from '../virtual/virtual-cloud';
import { HUB_VIRTUAL_CLIENT_ID, virtualFleetSpecs, type VirtualPlayerSpec } from '../virtual/contracts';
import { ALL_VIRTUAL_SCOPES } from '../virtual/tokens/token-service';
import { SignInPasteError, type SignInLinks } from '../yoto/auth/browser-sign-in';
import { OAuthError } from '../yoto/auth/oauth-client';
import { DEFAULT_SCOPES, ESSENTIAL_SCOPES, MissingScopeError, missingScopes, parseScopes } from '../yoto/auth/scopes';
import { YotoApiError } from '../yoto/rest/errors';
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
  /** The hub's own origins (its server and public URL): virtual players may fetch streams from them. */
  hubOrigins?: () => string[];
}

/** What the hub knows about signing in to the real Yoto cloud, for the panel and the editor. */
export interface SignInStatus {
  /** A client id is set, so the real cloud can be signed in to. */
  available: boolean;
  signedIn: boolean;
  active: ActiveCloud | undefined;
  /** The scopes asked for at sign-in. */
  scopes: string[];
  /** The link to open, while a sign-in waits. */
  url?: string;
  /** Where Yoto sends the browser back (register it with Yoto). */
  redirectUri?: string;
  /** Why the last sign-in did not work, or why the hub cannot use the one it has. */
  problem?: string;
}

export interface CloudConnectionEvents {
  state: [state: CloudState, active: ActiveCloud | undefined];
  /** A sign-in to the real Yoto cloud is waiting for the user: open `links.authorizeUrl`. */
  'sign-in': [links: SignInLinks];
}

const CARD_CACHE_MS = 60_000;
/** A second refused MQTT CONNECT (not authorized) in a row, with a refreshed token, means the sign-in lacks the MQTT scope. */
const REFUSALS_BEFORE_GIVING_UP = 2;

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
  /** Settles when the pending sign-in has been taken up (switched to the real cloud) or refused. */
  private signInOutcome: Promise<void> | undefined;
  /** Bumped by every new sign-in, so the outcome of a replaced one does nothing. */
  private signInSeq = 0;
  private currentState: CloudState = 'stopped';
  private lastError: string | undefined;
  /** A sign-in problem the user must fix (a missing scope): shown until the next sign-in succeeds. */
  private problem: string | undefined;
  /** Bumped by stop(): work that started before it does nothing when it finishes. */
  private generation = 0;
  private switching: Promise<void> = Promise.resolve();
  private commandResolver: ((deviceId: string, command: DeviceCommand) => Promise<DeviceCommand>) | undefined;
  /** Several hub instances: where commands go while another instance holds the cloud connection. */
  private remote: DeviceCommander | undefined;

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
  async requestSignIn(options: { fresh?: boolean } = {}): Promise<SignInLinks | undefined> {
    const client = this.realClient;
    if (!client) return undefined;
    if (this.session?.active === 'yoto' && !options.fresh) return undefined;
    if (!this.signInLinks || options.fresh) await this.beginSignIn(client, this.generation);
    return this.signInLinks;
  }

  /** The scopes the hub asks for when signing in to the real cloud (the setting, or the default list). */
  get scopes(): string[] {
    return parseScopes(this.options.settings.scopes ?? DEFAULT_SCOPES);
  }

  signInStatus(): SignInStatus {
    return {
      available: this.realClient !== undefined,
      signedIn: this.realClient?.tokens.state === 'signed-in' && this.problem === undefined,
      active: this.session?.active,
      scopes: this.scopes,
      ...(this.signInLinks ? { url: this.signInLinks.authorizeUrl, redirectUri: this.signInLinks.redirectUri } : {}),
      ...(this.problem ? { problem: this.problem } : {}),
    };
  }

  /**
   * Finishes the pending sign-in from the address the browser ended on (a hub on
   * another machine: the browser could not reach the callback). Resolves once the
   * hub runs on the Yoto cloud; rejects with SignInPasteError (a wrong or stale
   * address: the sign-in still waits) or with why the sign-in failed.
   */
  async completeSignIn(address: string): Promise<SignInStatus> {
    const client = this.realClient;
    if (!client) throw new SignInPasteError('no_client_id', 'no Yoto client id is set: the hub runs on the virtual cloud only');
    const outcome = this.signInOutcome;
    if (!this.signInLinks || !outcome) throw new SignInPasteError('no_sign_in', 'no sign-in is waiting (it finished, failed or timed out): ask for a new sign-in link');
    try {
      await client.completeSignIn(address);
    } catch (error) {
      if (error instanceof SignInPasteError) throw error;
      // The sign-in itself failed (refused at consent, code spent): say why, with the scope when that is it.
      await outcome;
      if (this.problem) throw new MissingScopeProblem(this.problem);
      throw error;
    }
    await outcome;
    await this.switching;
    if (this.problem) throw new MissingScopeProblem(this.problem);
    if (this.session?.active !== 'yoto') throw new Error(this.lastError ?? 'the hub could not start on the Yoto cloud');
    return this.signInStatus();
  }

  /** For the embedded broker: may this MQTT password (an access token) follow the virtual cloud's players? */
  authorizeVirtualMqtt(token: string): LoginVerdict {
    return this.session?.virtual?.authorizeMqtt(token) ?? { returnCode: 4, reason: 'no virtual cloud is running' };
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
        const missingInSetting = missingScopes(this.scopes, ESSENTIAL_SCOPES);
        if (missingInSetting.length > 0) this.logger.warn(new MissingScopeError(missingInSetting, 'setting').message);
        const client = new YotoCloudClient({
          clientId: settings.clientId,
          tokenFile: path.join(this.options.dataDir, 'yoto-cloud', 'tokens.json'),
          ...(settings.yotoAuthUrl ? { authUrl: settings.yotoAuthUrl } : {}),
          ...(settings.yotoApiUrl ? { apiUrl: settings.yotoApiUrl } : {}),
          logger: this.logger.child({ component: 'yoto-cloud' }),
        });
        this.realClient = client;
        client.tokens.on('state-changed', this.onAuthState);
        if ((await client.load()) === 'signed-in' && this.checkGrantedScopes(client)) {
          await this.startRealSession(client);
          if (!this.session && settings.mode === 'auto') await this.startVirtual();
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
    this.signInOutcome = undefined;
    if (client) {
      client.tokens.off('state-changed', this.onAuthState);
      await client.close();
    }
    this.setState('stopped');
  }

  /** Carries out a command on the cloud in use (or, on a follower of a cluster, through the leader); see DeviceCommander. */
  async execute(deviceId: string, command: DeviceCommand, options?: { timeoutMs?: number }): Promise<CommandResult> {
    if (!this.session && this.remote) return this.remote.execute(deviceId, command, options);
    return this.executeHere(deviceId, command, options);
  }

  /** Carries out a command on this instance's own cloud connection, never forwarding it (the leader serving a follower). */
  async executeHere(deviceId: string, command: DeviceCommand, options?: { timeoutMs?: number }): Promise<CommandResult> {
    const commander = this.session?.commander;
    if (!commander) throw new DeviceCommandError('offline', 'the hub is not connected to a Yoto cloud', deviceId, command.type);
    const resolved = this.commandResolver ? await this.commandResolver(deviceId, command) : command;
    const result = await commander.execute(deviceId, resolved, options);
    return resolved === command ? result : { ...result, command: command.type };
  }

  /**
   * Several hub instances (server/cluster): while this instance holds no cloud session (a follower),
   * commands go to `remote`, which hands them to the instance that holds the connection.
   */
  useRemote(remote: DeviceCommander | undefined): void {
    this.remote = remote;
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
      ...(this.realClient ? { scopes: this.scopes } : {}),
      ...(this.problem ? { signInProblem: this.problem } : {}),
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
      players: this.options.virtual?.players ?? virtualFleetSpecs(settings.virtualPlayers ?? 3),
      clients: { [HUB_VIRTUAL_CLIENT_ID]: ALL_VIRTUAL_SCOPES },
      streamOrigins: () => [...(this.options.hubOrigins?.() ?? []), ...(settings.virtualStreamOrigins ?? [])],
      logger: this.logger,
      ...(this.options.virtual?.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: this.options.virtual.accessTokenTtlSeconds } : {}),
    });
    await virtual.start();
    const client = new YotoCloudClient({
      clientId: HUB_VIRTUAL_CLIENT_ID,
      tokenFile: path.join(dataDir, 'virtual-cloud', 'hub-tokens.json'),
      apiUrl: virtual.url,
      authUrl: virtual.url,
      logger: this.logger.child({ component: 'virtual-cloud-client' }),
    });
    try {
      // The virtual login approves at once; the hub plays the browser, so the same PKCE code runs.
      // A saved sign-in from before the hub asked for these scopes is replaced.
      const saved = await client.load();
      if (saved !== 'signed-in' || missingScopes(parseScopes(client.tokens.scope ?? ''), DEFAULT_SCOPES).length > 0) {
        await signInHeadless(client, DEFAULT_SCOPES.join(' '));
      }
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
      url: virtual ? this.options.brokerUrl() : this.options.settings.yotoMqttUrl ?? REAL_CLOUD.mqttUrl,
      ...(virtual && this.options.externalBrokerLogin ? { homeBrokerLogin: this.options.externalBrokerLogin } : {}),
      tokenProvider: () => client.tokens.getAccessToken(),
      tokenRejected: (token) => client.tokens.accessTokenRejected(token),
      logger: this.logger.child({ component: active === 'virtual' ? 'virtual-cloud-mqtt' : 'yoto-mqtt' }),
    });
    let refusals = 0;
    mqtt.on('state', (state) => {
      if (state === 'connected') refusals = 0;
    });
    mqtt.on('refused', (refusal) => {
      if (refusal.code !== 5 || ++refusals < REFUSALS_BEFORE_GIVING_UP) return;
      // Not authorized even with a fresh token: the sign-in lacks the MQTT scope. Stop, say so, do not loop.
      this.reportProblem(new MissingScopeError(['family:devices:control'], 'grant'));
      void mqtt.stop();
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
      if (error instanceof YotoApiError && error.status === 403) throw new MissingScopeError([insufficientScope(error) ?? 'family:devices:view'], 'grant');
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
    const seq = ++this.signInSeq;
    const { links, done } = await client.startSignIn({ port: this.options.settings.signInPort, scope: this.scopes.join(' ') });
    if (seq !== this.signInSeq) return;
    this.signInLinks = links;
    this.logger.warn('sign in to the Yoto cloud: open this link in a browser', { url: links.authorizeUrl, scopes: this.scopes.join(' ') });
    this.emit('sign-in', links);
    this.signInOutcome = done.then(
      () => {
        if (generation !== this.generation || seq !== this.signInSeq) return;
        this.signInLinks = undefined;
        if (!this.checkGrantedScopes(client)) return;
        this.switchToReal(client, generation);
      },
      (error: unknown) => {
        if (generation !== this.generation || seq !== this.signInSeq) return;
        this.signInLinks = undefined;
        if (error instanceof OAuthError && error.error === 'access_denied') {
          this.reportProblem(new MissingScopeError(scopesNamedIn(error.errorDescription) ?? this.scopes, 'app'));
          return;
        }
        this.lastError = `sign-in failed: ${(error as Error).message}`;
        this.logger.error('Yoto sign-in failed', { err: error });
      },
    );
  }

  /**
   * After a sign-in (or with a saved one): does the token carry what the hub needs?
   * If not, says which scope and where to change it, and keeps the hub off the real
   * cloud (a token without the MQTT scope would only be refused again and again).
   */
  private checkGrantedScopes(client: YotoCloudClient): boolean {
    const asked = this.scopes;
    const granted = client.tokens.scope !== undefined ? parseScopes(client.tokens.scope) : asked;
    const notAsked = missingScopes(asked, ESSENTIAL_SCOPES);
    const notGranted = missingScopes(granted, asked);
    if (notAsked.length > 0) {
      this.reportProblem(new MissingScopeError(notAsked, 'setting'));
      return false;
    }
    const essentialNotGranted = notGranted.filter((scope) => ESSENTIAL_SCOPES.includes(scope));
    if (essentialNotGranted.length > 0) {
      this.reportProblem(new MissingScopeError(essentialNotGranted, 'grant'));
      return false;
    }
    if (notGranted.length > 0) this.logger.warn(new MissingScopeError(notGranted, 'grant').message);
    this.problem = undefined;
    return true;
  }

  private reportProblem(error: MissingScopeError): void {
    this.problem = error.message;
    this.lastError = error.message;
    this.logger.error('Yoto sign-in problem', { reason: error.message, missing: error.missing });
    if (this.session?.active !== 'virtual') this.setState('needs_sign_in');
  }

  /** Starts on the real cloud; a sign-in problem (a missing scope) leaves the hub waiting for a new sign-in. */
  private async startRealSession(client: YotoCloudClient): Promise<void> {
    try {
      await this.startSession('yoto', client, undefined);
    } catch (error) {
      if (!(error instanceof MissingScopeError)) throw error;
      this.reportProblem(error);
    }
  }

  private switchToReal(client: YotoCloudClient, generation: number): void {
    this.switching = this.switching.then(async () => {
      if (generation !== this.generation) return;
      this.logger.info('signed in to the Yoto cloud; switching to it');
      const previous = this.session?.active;
      await this.stopSession();
      try {
        await this.startRealSession(client);
        if (this.session) this.setState('running');
        else if (previous === 'virtual' && this.options.settings.mode === 'auto') await this.startVirtual();
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

/** A sign-in problem raised again for a caller (the panel) after the hub recorded it. */
export class MissingScopeProblem extends Error {
  readonly code = 'missing_scope';
}

/** The scope that a 403 answer names in `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`, if any. */
function insufficientScope(error: YotoApiError): string | undefined {
  const body = error.body as { error?: { message?: unknown } } | undefined;
  const message = typeof body?.error?.message === 'string' ? body.error.message : error.message;
  return /\b((?:family|user)(?::[a-z]+){1,2})\b/.exec(message)?.[1];
}

/** Scopes an access_denied description names ("... scopes: a b c"), if it names any. */
function scopesNamedIn(description: string | undefined): string[] | undefined {
  const named = (description ?? '').match(/\b(?:offline_access|openid|profile|(?:family|user)(?::[a-z]+){1,2})\b/g);
  return named && named.length > 0 ? [...new Set(named)] : undefined;
}

/** The browser's part of a PKCE sign-in against the virtual cloud, which approves at once. */
async function signInHeadless(client: YotoCloudClient, scope: string): Promise<void> {
  const { links, done } = await client.startSignIn({ port: 0, scope });
  const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
  const callback = approval.headers.get('location');
  if (approval.status !== 302 || !callback) throw new Error(`the virtual cloud's login did not approve the hub (HTTP ${approval.status})`);
  const page = await fetch(callback);
  await page.arrayBuffer();
  await done;
}
