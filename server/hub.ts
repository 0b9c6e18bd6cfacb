import * as os from 'node:os';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import { EmbeddedBroker } from './broker/embedded-broker';
import { embeddedBrokerAccess, generatedLogin, type BrokerLogin } from './broker/broker-access';
import { enforceUserDeletion } from './accounts/user-content';
import { audioAccessOf, mayUseDevice } from './devices/ownership';
import { HomeBrokerClient, type BrokerState } from './broker/home-broker-client';
import type { HubOptions } from './config/hub-options';
import { HubHttpServer } from './http/http-server';
import { createLogger, type Logger } from './log/logger';
import { packageVersion, panelDistDir } from './paths';
import { openStore, type Store } from './store';
import { overallStatus, type ComponentHealth, type HealthReport } from './system/health';
import { systemRoutes } from './system/system-routes';
import { bearerToken } from './http/request-user';
import { storeValidator } from './store/store-validator';
import { HomeBrokerBridge } from './bridge/home-broker-bridge';
import { discoveryOrigin } from './bridge/home-assistant';
import { CloudConnection, type ActiveCloud, type CloudConnectionOptions, type CloudState } from './cloud/cloud-connection';
import { realClock, type Clock } from './time/clock';
import { DeviceRegistry } from './core/device-registry';
import type { SignInLinks } from './yoto/auth/browser-sign-in';
import { signInRoutes } from './cloud/sign-in-routes';
import { adminCredentialsFromEnv, createAccounts, type Accounts } from './accounts';
import { createAudioLibrary, createAudioLibraryService, parseObjectStoreUrl, type AudioLibraryHandle } from './library';
import { RealtimeGateway } from './realtime';
import type { RequestUser } from './http/request-user';
import { createStreamService, type StreamService } from './streams';
import { createScripts, type ScriptsService } from './scripts';
import { createStoriesApi } from './stories';
import { storyDeployer } from './stories/deploy-story';
import { StoryFollower } from './stories/story-follower';
import { Parts } from './system/parts';
import { smartStreamRoutes } from './streams/smart-routes';
import { createDevicesApi } from './devices';
import { createAnalyticsApi } from './analytics';
import { configRoutes } from './system/config-routes';
import { createMetrics } from './system/metrics';
import { directRequestContext, requestContext } from './system/request-context';
import { raiseStreamFailureAlerts } from './streams/stream-alerts';
import { openApiRoutes } from './openapi';
import { PlayerSettingsService, SettingsBridge, settingsRoutes } from './settings';
import { CardDirectory, cardRoutes, FamilyLibrary, libraryCommandResolver, NowPlayingCards } from './cards';
import { Announcer, announcementRoutes, BuiltInChime } from './announcements';
import { DeviceBus } from './core/device-bus';
import { addDemoContent } from './demo/demo-content';
import { SPEECH_DEFAULTS, SpeechService } from './tts';
import { Cluster } from './cluster';
import { leaderForwarding } from './cluster/leader-forwarding';
import { clientAddressOf } from './http/client-address';

export type HubState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface HubEvents {
  state: [state: HubState];
  'broker-status': [state: BrokerState];
  'cloud-status': [state: CloudState, active: ActiveCloud | undefined];
  /** The real Yoto cloud needs the user to sign in: open `links.authorizeUrl`. */
  'cloud-sign-in': [links: SignInLinks];
}

export interface HubDependencies {
  logger?: Logger;
  /** Where the built panel is served from (tests may point elsewhere). */
  panelDir?: string;
  /** Tuning of the cloud connection (tests shorten token lifetimes and refresh periods). */
  cloud?: Pick<CloudConnectionOptions, 'deviceRefreshMs' | 'commandTimeoutMs' | 'virtual'>;
  /** Where YOTO_ADMIN_EMAIL / YOTO_ADMIN_PASSWORD, and the object store's AWS_* credentials and region when its URL has none, are read (default process.env; tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** The id of the Node-RED config node (yoto-hub) that runs this hub: the flows it exports (a story as a flow) name it, so they find this hub once imported. */
  nodeRedHubId?: string;
  /** The hub's one clock: stream URL expiry and their renewal on deployed cards, the speech cache's cleanup, the announcements' expiry and end waits (default the real one; tests drive a ManualClock). */
  clock?: Clock;
}

/** What a running hub is made of; every surface (nodes, tests, the CLI) reaches the parts through it. */
export interface HubServices {
  store: Store;
  broker: HomeBrokerClient;
  /** Where the device model publishes and every consumer subscribes. */
  bus: DeviceBus;
  devices: DeviceRegistry;
  cloud: CloudConnection;
  bridge: HomeBrokerBridge;
  accounts: Accounts;
  library: AudioLibraryHandle;
  streams: StreamService;
  /** Text to speech: render text to a signed hub URL players stream (server/tts). */
  speech: SpeechService;
  scripts: ScriptsService;
  announcements: Announcer;
  realtime: RealtimeGateway;
  http: HubHttpServer;
  settings: PlayerSettingsService;
  cards: FamilyLibrary;
  /** Set when the hub is one of several instances (YOTO_REDIS_URL): its role, Redis, what it shares. */
  cluster: Cluster | undefined;
}

/**
 * The hub runtime: it owns the store, the one home broker connection (and the
 * embedded broker when no external one is configured) and the HTTP + WebSocket
 * server. It has no Node-RED imports: the yoto-hub node, the CLI and the tests
 * all drive it through start(), stop() and its events.
 *
 * `compose()` is the composition root: it makes every part in data-flow order
 * (store, broker, device model, cloud, the surfaces), each with every
 * dependency it needs, and hands each to one `Parts` list that stops them in
 * reverse. A part is there, complete, or the hub is not running.
 */
export class Hub extends EventEmitter<HubEvents> {
  readonly logger: Logger;
  private hubState: HubState = 'stopped';
  private startedAt: Date | undefined;
  private services: HubServices | undefined;
  private embedded: EmbeddedBroker | undefined;
  private parts: Parts | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly options: HubOptions,
    private readonly deps: HubDependencies = {},
  ) {
    super();
    this.logger = deps.logger ?? createLogger({ level: options.logLevel, fields: { component: 'hub' } });
  }

  get state(): HubState {
    return this.hubState;
  }

  /** The running hub's parts; throws when it is not running. */
  get running(): HubServices {
    if (!this.services) throw new Error('the hub is not running');
    return this.services;
  }

  get store(): Store {
    return this.running.store;
  }

  get broker(): HomeBrokerClient {
    return this.running.broker;
  }

  /** The live model of every player (its `bus` carries every change and event). */
  get devices(): DeviceRegistry {
    return this.running.devices;
  }

  /** The Yoto cloud in use (real or virtual): device commands, cards, the device list. */
  get cloud(): CloudConnection {
    return this.running.cloud;
  }

  get bridge(): HomeBrokerBridge {
    return this.running.bridge;
  }

  /** Player settings (read-merge-write over the cloud's config) and alarms. */
  get settings(): PlayerSettingsService {
    return this.running.settings;
  }

  /** The family library: cards, groups, search. */
  get cards(): FamilyLibrary {
    return this.running.cards;
  }

  /** Users, sign-in and the tokens every API and WebSocket request is checked with. */
  get accounts(): Accounts {
    return this.running.accounts;
  }

  /** The audio library (files under the data directory, records in the store). */
  get library(): AudioLibraryHandle {
    return this.running.library;
  }

  /** Signed stream URLs for players, and smart streams. */
  get streams(): StreamService {
    return this.running.streams;
  }

  /** Text to speech: text rendered to audio on the hub, cached, streamed to players from /stream/speech. */
  get speech(): SpeechService {
    return this.running.speech;
  }

  /** Scripts and their deployment as streaming cards. */
  get scripts(): ScriptsService {
    return this.running.scripts;
  }

  /** Announcements: play a file or URL on a player, then put back what it was playing. */
  get announcements(): Announcer {
    return this.running.announcements;
  }

  get realtime(): RealtimeGateway {
    return this.running.realtime;
  }

  get http(): HubHttpServer {
    return this.running.http;
  }

  /** This instance's membership of a cluster (README "Several hub instances"); undefined when it runs alone. */
  get cluster(): Cluster | undefined {
    return this.running.cluster;
  }

  /** Admins see every player; a member those registered to them. */
  canSeeDevice(user: RequestUser, deviceId: string): boolean {
    return this.services ? mayUseDevice(this.services.store.devices, user, deviceId) : false;
  }

  /** The embedded broker, when the hub runs one (no external broker URL): its URLs and refusal counts. */
  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.embedded;
  }

  /** The hub server's base URL, e.g. http://127.0.0.1:1881 */
  get url(): string {
    return this.http.url;
  }

  /** Starts every part; on failure stops what had started and rejects. */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = this.compose().catch(async (error: unknown) => {
      this.logger.error('hub failed to start', { err: error });
      await this.release();
      this.setState('failed');
      throw error;
    });
    return this.starting;
  }

  /** Stops every part and releases every port, socket and timer. Safe to call at any time, more than once. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      this.setState('stopping');
      await this.release();
      this.setState('stopped');
    })();
    return this.stopping;
  }

  health(): HealthReport {
    const services = this.services;
    const idle: ComponentHealth = { status: this.hubState === 'starting' ? 'starting' : 'stopped' };
    // With what the bridge could not publish while the broker was behind.
    const brokerHealth = services ? { ...services.broker.health(), eventsDropped: services.bridge.stats().eventsDropped } : undefined;
    const broker = brokerHealth
      ? {
          ...brokerHealth,
          state: brokerHealth.status,
          status: brokerHealth.status === 'connected' && !brokerHealth.behind ? ('ok' as const) : brokerHealth.status === 'connecting' ? ('starting' as const) : ('degraded' as const),
        }
      : { status: 'stopped' as const, state: 'stopped' as const };
    const cluster = services?.cluster;
    // A follower holds no cloud connection by design: the leader does, and the follower's commands go through it.
    const cloud = cluster?.role === 'follower' ? { status: 'ok' as const, state: 'follower', ...(cluster.leader ? { leader: cluster.leader } : {}) } : services?.cloud.health();
    const components: HealthReport['components'] = {
      store: services ? { ...services.store.health() } : idle,
      broker,
      cloud: cloud ?? idle,
      http: services ? { status: 'ok', url: services.http.url, connections: services.http.connectionCount() } : { status: 'stopped' },
      ...(cluster ? { cluster: cluster.health() } : {}),
    };
    return {
      status: overallStatus(components, this.hubState === 'running' || this.hubState === 'starting'),
      version: packageVersion(),
      ...(this.startedAt ? { startedAt: this.startedAt.toISOString() } : {}),
      uptimeSeconds: this.startedAt ? Math.round((Date.now() - this.startedAt.getTime()) / 1000) : 0,
      components,
    };
  }

  /** The composition root: every part, in data-flow order. */
  private async compose(): Promise<void> {
    this.setState('starting');
    const { options, logger } = this;
    const clock = this.deps.clock ?? realClock;
    const parts = new Parts(logger);
    this.parts = parts;
    const child = (component: string): Logger => logger.child({ component });

    // ---- storage and the home broker ----
    const store = parts.add('store', await openStore({ dataDir: options.dataDir, ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}), validate: storeValidator(), logger: child('store') }), (s) => s.close());
    const retention = setInterval(() => {
      store.events.enforceRetention().catch((error: unknown) => logger.warn('event log retention failed', { err: error }));
    }, 60 * 60_000);
    parts.add('event log retention', retention, clearInterval);
    // Several instances (README "Several hub instances"): Redis first, as sign-ins and the device bus depend on it.
    const cluster = options.cluster ? parts.add('cluster', await Cluster.connect(options.cluster, child('cluster')), (c) => c.stop()) : undefined;

    // ---- the device model and the cloud that feeds it ----
    const bus = new DeviceBus(child('device-bus'));
    const devices = parts.add(
      'device registry',
      new DeviceRegistry({
        bus,
        eventLog: store.events,
        history: {
          save: (session) => {
            store.playbackHistory.upsert(session).catch((error: unknown) => logger.error('could not save a playback session', { err: error }));
          },
        },
        logger: child('devices'),
      }),
      (r) => r.stop(),
    );
    await cluster?.relayBus(devices);
    let brokerUrl = options.broker.url;
    let hubOrigins = (): string[] => [];
    // On an external broker the hub (and virtual players) use its configured login; on the embedded
    // one, logins generated now (README "Home broker security": users, ACL, TLS).
    let hubLogin: Partial<BrokerLogin> = { ...(options.broker.username ? { username: options.broker.username } : {}), ...(options.broker.password ? { password: options.broker.password } : {}) };
    let playersLogin = hubLogin;
    const cloud = new CloudConnection({
      settings: options.cloud,
      dataDir: options.dataDir,
      brokerUrl: () => brokerUrl ?? '',
      virtualPlayersLogin: () => playersLogin,
      ...(options.broker.url && options.broker.username && options.broker.password ? { externalBrokerLogin: { username: options.broker.username, password: options.broker.password } } : {}),
      registry: devices,
      logger,
      // Virtual players fetch streams only from the hub (and the virtual cloud) unless configured otherwise.
      hubOrigins: () => hubOrigins(),
      ...this.deps.cloud,
    });
    cloud.on('state', (state, active) => this.emit('cloud-status', state, active));
    cloud.on('sign-in', (links) => this.emit('cloud-sign-in', links));
    // On a follower, commands reach the players through the leader's cloud connection.
    if (cluster) cloud.useRemote(await cluster.relayCommands({ execute: (deviceId, command, opts) => cloud.executeHere(deviceId, command, opts) }));

    // ---- the home broker (embedded unless one is configured) ----
    if (!brokerUrl) {
      const settings = options.broker.embedded;
      const logins = { hub: generatedLogin('yoto-hub'), virtualPlayers: generatedLogin('yoto-virtual-players') };
      const access = embeddedBrokerAccess({
        store,
        ...logins,
        // A login in the Yoto cloud's form (the adapter following virtual players) is held to the Yoto cloud's
        // rules: a live token of the virtual cloud with the MQTT scope (else CONNACK 5), at most 8 filters per SUBSCRIBE.
        authorizeAdapterToken: (token) => cloud.authorizeVirtualMqtt(token),
        anonymous: settings.anonymous ?? 'house',
      });
      const embedded = new EmbeddedBroker(settings.host, settings.port, child('embedded-broker'), access, settings.tls);
      await embedded.start();
      parts.add('embedded broker', embedded, (b) => b.stop());
      this.embedded = embedded;
      brokerUrl = embedded.url;
      hubLogin = logins.hub;
      playersLogin = logins.virtualPlayers;
    }
    // The embedded broker runs in this process: the hub's messages go straight into it (README "Home broker").
    const embeddedBroker = this.embedded;
    const broker = new HomeBrokerClient(
      brokerUrl,
      hubLogin,
      !options.broker.url,
      child('home-broker'),
      embeddedBroker ? (topic, payload, retain, done) => embeddedBroker.publishLocal(topic, payload, retain, done) : undefined,
    );
    broker.on('status', (state) => this.emit('broker-status', state));
    parts.add('home broker client', broker, async (b) => {
      await b.stop();
      b.removeAllListeners();
    });
    broker.start();
    parts.add('Yoto cloud connection', cloud, async (c) => {
      await c.stop();
      c.removeAllListeners();
    });

    // ---- content: files, streams, scripts, announcements, stories ----
    const http = new HubHttpServer({ host: options.http.host, port: options.http.port, panelDir: this.deps.panelDir ?? panelDistDir, logger: child('http') });
    // Behind a reverse proxy (YOTO_TRUSTED_PROXIES): rate limits count the client's address it forwards, not the proxy's.
    const trustedProxies = options.http.trustedProxies ?? [];
    if (trustedProxies.length > 0) http.app.set('trust proxy', trustedProxies);
    else if (cluster) logger.warn('several instances without YOTO_TRUSTED_PROXIES: every client behind the proxy shares its address, and so its sign-in rate limits; set it to the proxy\'s address');
    hubOrigins = () => [http.url, ...(options.http.publicUrl ? [options.http.publicUrl] : [])];
    // Audio bytes in a bucket when YOTO_OBJECT_STORE_URL is set, else in the data directory (the AWS SDK is loaded only then).
    const storage = options.objectStoreUrl !== undefined
      ? (await import('./library/s3-audio-storage.js')).createS3AudioStorage(parseObjectStoreUrl(options.objectStoreUrl), { env: this.deps.env ?? process.env, logger: child('audio-storage'), objectCacheDir: path.join(options.dataDir, 'cache', 'objects') })
      : undefined;
    const files = createAudioLibraryService({ store, dataDir: options.dataDir, logger: logger.child({ part: 'audio-library' }), ...(storage ? { storage } : {}) });
    // Closed after the library and the streams (parts stop in reverse order); closing ends a start-up sweep still under way.
    parts.add('audio storage', files, async (f) => {
      await f.storage.close();
      await f.swept;
    });
    if (storage) logger.info('audio files are kept in an object store', { location: storage.location });
    const streams = parts.add(
      'streams',
      createStreamService({ dataDir: options.dataDir, publicUrl: options.http.publicUrl, hubUrl: () => http.url, library: files, logger: child('streams'), clock }),
      (s) => s.close(),
    );
    const speech = parts.add(
      'speech',
      await SpeechService.start({
        dataDir: options.dataDir,
        settings: options.tts ?? { ...SPEECH_DEFAULTS },
        streams,
        clock,
        logger: child('speech'),
      }),
      (s) => s.stop(),
    );
    parts.add('stream alerts', raiseStreamFailureAlerts({ events: streams.events, registry: devices }), (stopAlerts) => stopAlerts());
    const scripts = createScripts({ store, library: files, streams, cloud, logger: child('scripts'), clock });
    // Stream URLs on deployed cards expire: renewed hourly, at start, and whenever the cloud (re)connects.
    const renewal = parts.add('card renewal', scripts.renewal, (r) => r.stop());
    const renewWhenConnected = (state: CloudState): void => {
      if (state === 'running') void renewal.check();
    };
    cloud.on('state', renewWhenConnected);
    parts.add('card renewal on connect', renewWhenConnected, (listener) => cloud.off('state', listener));
    renewal.start();
    const library = parts.add('audio library', createAudioLibrary({ files, logger, isInUse: (fileId) => scripts.isFileInUse(fileId) }), (l) => l.close());
    if (options.demoContent) await addDemoContent({ store, library: files, dataDir: options.dataDir, logger: child('demo') });
    // The built-in chime is served where players reach the hub (its public URL, else its own address).
    const chime = new BuiltInChime(() => options.http.publicUrl ?? http.url);
    const announcements = parts.add(
      'announcements',
      new Announcer({
        registry: devices,
        commander: cloud,
        cards: () => cloud.api,
        library: files,
        streams,
        speech,
        chime,
        logger: child('announcements'),
        clock,
      }),
      (a) => a.stop(),
    );
    // Turns a story card's chapter changes into story_node_entered events on every surface.
    // In a cluster only the leader follows stories (the others get its story_node_entered events).
    const storyFollower = parts.add('story follower', new StoryFollower({ store, registry: devices, logger: child('stories') }), (f) => f.stop());

    // ---- the house: home broker bridge ----
    const bridge = parts.add(
      'home broker bridge',
      // The settings bridge's retained topics go again on resync_discovery too (it is made below).
      new HomeBrokerBridge({ broker, registry: devices, commander: cloud, scripts, announcements, alsoResync: () => settingsBridge.republish(), logger: child('bridge') }),
      (b) => b.stop(),
    );
    // Settings, the family library and commands that name a card by title or group (issue 14).
    const family = new FamilyLibrary({ api: () => cloud.api, getCard: (cardId) => cloud.getCard(cardId), logger: child('cards') });
    cloud.useCommandResolver(libraryCommandResolver(family));
    // What each card is (title, author, cover): on the playback of the players that play it, and in the analytics.
    const cardDirectory = new CardDirectory({ familyCards: () => family.list(), getCard: (cardId) => cloud.getCard(cardId), scope: () => cloud.api, logger: child('cards') });
    const nowPlaying = parts.add('now playing', new NowPlayingCards({ registry: devices, cards: cardDirectory, logger: child('cards') }), (n) => n.stop());
    const settings = parts.add('player settings', new PlayerSettingsService({ api: () => cloud.api, registry: devices, logger: child('settings') }), (p) => {
      p.removeAllListeners();
    });
    const settingsBridge = parts.add(
      'settings bridge',
      new SettingsBridge({
        broker,
        registry: devices,
        settings,
        cardTitles: async () => (await family.list()).map((card) => card.title),
        homeAssistant: { origin: discoveryOrigin() },
        logger: child('settings-bridge'),
      }),
      (b) => b.stop(),
    );
    // What only the instance holding the Yoto cloud connection runs: stories followed, the house
    // bridged (listening before the cloud starts, so it misses nothing), the cloud, the settings bridge.
    // Another cloud signed in to (the real one after the virtual), another family library: Home Assistant's card picker reads it again.
    cloud.on('state', (state) => {
      if (state === 'running') settingsBridge.refreshTitles();
    });
    const lead = async (): Promise<void> => {
      devices.follow(false);
      storyFollower.start();
      nowPlaying.start();
      bridge.start();
      await cloud.start();
      settingsBridge.start();
    };
    if (!cluster) await lead();
    else {
      // Exactly one instance holds the Yoto cloud connection and bridges the home broker: the lease holder.
      await cluster.elect({
        lead,
        follow: async () => {
          storyFollower.stop();
          nowPlaying.stop();
          settingsBridge.stop();
          bridge.stop();
          await cloud.stop();
          devices.follow(true);
        },
      });
      parts.add('cluster leadership', cluster, (c) => c.resign());
    }

    // ---- accounts and the HTTP API ----
    const accounts = parts.add('accounts', await createAccounts({ store, logger: child('accounts'), ...(cluster ? { shared: cluster.accounts } : {}) }), (a) => a.close());
    // Deleting a user deletes what they owned and revokes its stream URLs (the handler ends with accounts.close()).
    await enforceUserDeletion(accounts, { store, library: files, streams, logger: child('accounts') });
    const admin = adminCredentialsFromEnv(this.deps.env ?? process.env);
    if (admin) {
      const { created } = await accounts.ensureAdmin(admin);
      if (created) logger.info('created the admin account from YOTO_ADMIN_EMAIL', { email: admin.email });
    }
    const metrics = parts.add(
      'metrics',
      createMetrics({ registry: devices, broker: () => broker.health(), cloud: () => cloud.health(), webSocketClients: () => http.wss.clients.size }),
      (m) => m.stop(),
    );
    const analytics = parts.add('analytics', createAnalyticsApi({ store, registry: devices, cards: cardDirectory, logger }), (a) => a.stop());
    // Every request gets an id: API routes, and player streams, /metrics and the panel's files.
    const requestIds = requestContext(child('http'));
    http.useApi(requestIds);
    // With several instances on one database: what any instance acknowledged is seen by this request.
    // Health answers without it: it reports the store, reachable or not.
    http.useApi((req, _res, next) => {
      if (req.path === '/system/health') return next();
      store.catchUp().then(() => next(), next);
    });
    http.mountRoot('/', requestIds);
    http.useApi(metrics.middleware);
    // On a follower, requests that need the Yoto cloud connection (cards, settings, deployments, announcements) go to the leader.
    if (cluster) http.useApi(leaderForwarding({ instanceId: cluster.instanceId, leading: () => cluster.role === 'leader', leaderUrl: () => cluster.leaderUrl(), logger: child('cluster') }));
    http.mountApi('/', openApiRoutes());
    http.mountApi('/system', systemRoutes(() => this.health(), { viewer: (req) => accounts.verifyAccessToken(bearerToken(req.headers.authorization) ?? '') }));
    http.mountApi('/auth', accounts.router);
    http.useApi(accounts.authenticate);
    http.mountApi('/system', configRoutes({ options, logger }));
    http.mountApi('/system', signInRoutes(() => cloud));
    http.mountApi('/devices', settingsRoutes({ settings, canSee: (user, deviceId) => this.canSeeDevice(user, deviceId) }));
    http.mountApi('/cards', cardRoutes(family));
    http.mountApi('/devices', createDevicesApi({ store, registry: devices, commander: cloud, scripts, logger, source: () => cloud.active ?? 'yoto', revokeDevice: (id) => streams.revokeDevice(id) }));
    http.mountApi('/analytics', analytics.router);
    http.mountApi(
      '/announcements',
      announcementRoutes({ announcer: announcements, registry: devices, canUse: (user, deviceId) => this.canSeeDevice(user, deviceId), file: (fileId) => files.get(fileId) }),
    );
    await analytics.ready;
    http.mountRoot('/metrics', metrics.router);
    http.mountApi('/audio', library.router);
    http.mountApi('/scripts', scripts.router);
    http.mountApi('/icons', scripts.iconsRouter);
    http.mountApi('/streams/smart', smartStreamRoutes({ streams, library: files, logger, isInUse: (id) => scripts.isSmartStreamInUse(id) }));
    http.mountApi(
      '/stories',
      createStoriesApi({
        store,
        deploy: storyDeployer(store, (scriptId, deviceId, user) => scripts.deploy(scriptId, deviceId, user)),
        card: (story, deviceId) => scripts.storyCard(story, deviceId),
        audioAccess: (ownerId, fileId) => audioAccessOf(files, store.users, ownerId, fileId),
        ...(this.deps.nodeRedHubId ? { hubId: this.deps.nodeRedHubId } : {}),
        logger: child('stories'),
      }),
    );
    // Players cannot send headers: their stream URLs carry a signed token instead of a session.
    // Answered ahead of the API's middleware chain (a seeking player sends many short range
    // requests), with request ids and counted in /metrics like the API's (the token is in the
    // query, not the route label).
    http.useDirect(directRequestContext(child('http')));
    http.useDirect(metrics.directMiddleware);
    http.mountDirect('/stream', streams.routes);
    http.mountRoot('/announcements', chime.router());
    parts.add('http server', http, (h) => h.close());
    const realtime = parts.add(
      'WebSocket gateway',
      new RealtimeGateway({
        wss: http.wss,
        registry: devices,
        authenticate: (token) => accounts.verifyAccessToken(token),
        canSee: (user, deviceId) => this.canSeeDevice(user, deviceId),
        // Admins see every player: their clients share one frame per turn (members each have their own).
        visibilityKey: (user) => (user.role === 'admin' ? 'every player' : `member ${user.id}`),
        logger: child('realtime'),
        // Issue 13: sockets close when their token expires, and are re-checked whenever rights change.
        tokenExpiresAt: (token) => accounts.accessTokenExpiresAt(token),
        clientAddress: clientAddressOf(trustedProxies),
      }),
      (r) => r.stop(),
    );
    http.gateUpgrades((request) => realtime.admit(request));
    accounts.onRightsChanged(() => realtime.recheck());
    realtime.start();
    await http.listen();
    if (cluster) await cluster.advertise(options.cluster?.instanceUrl ?? reachableUrl(options.http.host, http.port, http.url));
    this.services = { store, broker, bus, devices, cloud, bridge, accounts, library, streams, speech, scripts, announcements, realtime, http, settings, cards: family, cluster };
    // Said once the server listens, so the address is the one to open (not port 0 when the port is chosen by the OS).
    if (!admin && accounts.needsOnboarding()) logger.info('no accounts yet: open the panel to create the admin', { url: http.url });

    this.startedAt = new Date();
    this.setState('running');
  }

  /** Stops every part in the reverse order of start: requests first, the store last so nothing writes after it. */
  private async release(): Promise<void> {
    const parts = this.parts;
    this.parts = undefined;
    this.services = undefined;
    this.embedded = undefined;
    this.startedAt = undefined;
    await parts?.stopAll();
  }

  private setState(state: HubState): void {
    if (state === this.hubState) return;
    this.hubState = state;
    this.emit('state', state);
  }
}

/** Where other machines reach a server: its own URL, or the host name when it listens on every interface. */
function reachableUrl(host: string, port: number, url: string): string {
  return host === '0.0.0.0' || host === '::' ? `http://${os.hostname()}:${port}` : url;
}
