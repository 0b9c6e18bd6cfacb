import { EventEmitter } from 'node:events';
import { EmbeddedBroker } from './broker/embedded-broker';
import { HomeBrokerClient, type BrokerState } from './broker/home-broker-client';
import type { HubOptions } from './config/hub-options';
import { HubHttpServer } from './http/http-server';
import { createLogger, type Logger } from './log/logger';
import { packageVersion, panelDistDir } from './paths';
import { openStore, type Store } from './store';
import { overallStatus, type ComponentHealth, type HealthReport } from './system/health';
import { systemRoutes } from './system/system-routes';
import { storeValidator } from './store/store-validator';
import { HomeBrokerBridge } from './bridge/home-broker-bridge';
import { CloudConnection, type ActiveCloud, type CloudConnectionOptions, type CloudState } from './cloud/cloud-connection';
import { DeviceRegistry } from './core/device-registry';
import type { SignInLinks } from './yoto/auth/browser-sign-in';
import { isYotoAdapterLogin, MAX_FILTERS_PER_SUBSCRIBE } from './yoto/protocol';
import { signInRoutes } from './cloud/sign-in-routes';
import { adminCredentialsFromEnv, createAccounts, type Accounts } from './accounts';
import { createAudioLibrary, type AudioLibraryHandle } from './library';
import { RealtimeGateway } from './realtime';
import type { RequestUser } from './http/request-user';
import { createStreamService, type StreamService } from './streams';
import { createScripts, type ScriptsService } from './scripts';
import { createStoriesApi } from './stories';
import { storyDeployer } from './stories/deploy-story';
import { StoryFollower } from './stories/story-follower';
import { smartStreamRoutes } from './streams/smart-routes';
import { createDevicesApi } from './devices';
import { createAnalyticsApi, type AnalyticsApi } from './analytics';
import { configRoutes } from './system/config-routes';
import { createMetrics, type Metrics } from './system/metrics';
import { requestContext } from './system/request-context';
import { raiseStreamFailureAlerts } from './streams/stream-alerts';
import { openApiRoutes } from './openapi';

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
  /** Where YOTO_ADMIN_EMAIL / YOTO_ADMIN_PASSWORD are read (default process.env; tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The hub runtime: it owns the store, the one home broker connection (and the
 * embedded broker when no external one is configured) and the HTTP + WebSocket
 * server. It has no Node-RED imports: the yoto-hub node, the CLI and the tests
 * all drive it through start(), stop() and its events.
 */
export class Hub extends EventEmitter<HubEvents> {
  readonly logger: Logger;
  private hubState: HubState = 'stopped';
  private startedAt: Date | undefined;
  private storeInstance: Store | undefined;
  private embeddedBroker: EmbeddedBroker | undefined;
  private brokerClient: HomeBrokerClient | undefined;
  private httpServer: HubHttpServer | undefined;
  private registryInstance: DeviceRegistry | undefined;
  private cloudConnection: CloudConnection | undefined;
  private bridgeInstance: HomeBrokerBridge | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private accountsInstance: Accounts | undefined;
  private libraryInstance: AudioLibraryHandle | undefined;
  private realtimeInstance: RealtimeGateway | undefined;
  private streamsInstance: StreamService | undefined;
  private scriptsInstance: ScriptsService | undefined;
  private analyticsInstance: AnalyticsApi | undefined;
  private metricsInstance: Metrics | undefined;
  private storyFollower: StoryFollower | undefined;
  private stopStreamAlerts: (() => void) | undefined;
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

  get store(): Store {
    if (!this.storeInstance) throw new Error('the hub is not running');
    return this.storeInstance;
  }

  get broker(): HomeBrokerClient {
    if (!this.brokerClient) throw new Error('the hub is not running');
    return this.brokerClient;
  }

  /** The live model of every player. */
  get devices(): DeviceRegistry {
    if (!this.registryInstance) throw new Error('the hub is not running');
    return this.registryInstance;
  }

  /** The Yoto cloud in use (real or virtual): device commands, cards, the device list. */
  get cloud(): CloudConnection {
    if (!this.cloudConnection) throw new Error('the hub is not running');
    return this.cloudConnection;
  }

  get bridge(): HomeBrokerBridge {
    if (!this.bridgeInstance) throw new Error('the hub is not running');
    return this.bridgeInstance;
  }

  /** Users, sign-in and the tokens every API and WebSocket request is checked with. */
  get accounts(): Accounts {
    if (!this.accountsInstance) throw new Error('the hub is not running');
    return this.accountsInstance;
  }

  /** The audio library (files under the data directory, records in the store). */
  get library(): AudioLibraryHandle {
    if (!this.libraryInstance) throw new Error('the hub is not running');
    return this.libraryInstance;
  }

  /** Signed stream URLs for players, and smart streams. */
  get streams(): StreamService {
    if (!this.streamsInstance) throw new Error('the hub is not running');
    return this.streamsInstance;
  }

  /** Scripts and their deployment as streaming cards. */
  get scripts(): ScriptsService {
    if (!this.scriptsInstance) throw new Error('the hub is not running');
    return this.scriptsInstance;
  }

  get realtime(): RealtimeGateway {
    if (!this.realtimeInstance) throw new Error('the hub is not running');
    return this.realtimeInstance;
  }

  /** Admins see every player; a member those registered to them. */
  canSeeDevice(user: RequestUser, deviceId: string): boolean {
    if (user.role === 'admin') return true;
    return this.storeInstance?.devices.list().some((device) => device.deviceId === deviceId && device.userId === user.id) ?? false;
  }

  get http(): HubHttpServer {
    if (!this.httpServer) throw new Error('the hub is not running');
    return this.httpServer;
  }

  /** The hub server's base URL, e.g. http://127.0.0.1:1881 */
  get url(): string {
    return this.http.url;
  }

  /** Starts every component; on failure stops what had started and rejects. */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = this.startComponents().catch(async (error: unknown) => {
      this.logger.error('hub failed to start', { err: error });
      await this.stopComponents();
      this.setState('failed');
      throw error;
    });
    return this.starting;
  }

  /** Stops every component and releases every port, socket and timer. Safe to call at any time, more than once. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      this.setState('stopping');
      await this.stopComponents();
      this.setState('stopped');
    })();
    return this.stopping;
  }

  health(): HealthReport {
    const store: ComponentHealth = this.storeInstance
      ? { ...this.storeInstance.health() }
      : { status: this.hubState === 'starting' ? 'starting' : 'stopped' };
    const brokerHealth = this.brokerClient?.health();
    const broker = brokerHealth
      ? {
          ...brokerHealth,
          state: brokerHealth.status,
          status: brokerHealth.status === 'connected' ? ('ok' as const) : brokerHealth.status === 'connecting' ? ('starting' as const) : ('degraded' as const),
        }
      : { status: 'stopped' as const, state: 'stopped' as const };
    const components: HealthReport['components'] = {
      store,
      broker,
      cloud: this.cloudConnection?.health() ?? { status: this.hubState === 'starting' ? 'starting' : 'stopped' },
      http: this.httpServer
        ? { status: 'ok', url: this.httpServer.url, connections: this.httpServer.connectionCount() }
        : { status: 'stopped' },
    };
    return {
      status: overallStatus(
        components,
        this.hubState === 'running' || this.hubState === 'starting',
      ),
      version: packageVersion(),
      ...(this.startedAt ? { startedAt: this.startedAt.toISOString() } : {}),
      uptimeSeconds: this.startedAt ? Math.round((Date.now() - this.startedAt.getTime()) / 1000) : 0,
      components,
    };
  }

  private async startComponents(): Promise<void> {
    this.setState('starting');
    const { options, logger } = this;
    this.storeInstance = await openStore({
      dataDir: options.dataDir,
      validate: storeValidator(),
      logger: logger.child({ component: 'store' }),
    });

    let brokerUrl = options.broker.url;
    if (!brokerUrl) {
      this.embeddedBroker = new EmbeddedBroker(
        options.broker.embedded.host,
        options.broker.embedded.port,
        logger.child({ component: 'embedded-broker' }),
        // The house's own clients connect freely; a login in the Yoto cloud's form (the adapter
        // following virtual players) is held to the Yoto cloud's rules: a live token with the MQTT
        // scope, at most 8 topic filters per SUBSCRIBE.
        {
          authorize: (username, password) => !isYotoAdapterLogin(username) || (this.cloudConnection?.authorizeVirtualMqtt(password ?? '') ?? false),
          subscribeLimit: (username) => (isYotoAdapterLogin(username) ? MAX_FILTERS_PER_SUBSCRIBE : undefined),
        },
      );
      await this.embeddedBroker.start();
      brokerUrl = this.embeddedBroker.url;
    }
    const client = new HomeBrokerClient(
      brokerUrl,
      { ...(options.broker.username ? { username: options.broker.username } : {}), ...(options.broker.password ? { password: options.broker.password } : {}) },
      !options.broker.url,
      logger.child({ component: 'home-broker' }),
    );
    client.on('status', (state) => this.emit('broker-status', state));
    this.brokerClient = client;
    client.start();

    const store = this.storeInstance;
    const registry = new DeviceRegistry({
      eventLog: store.events,
      history: {
        save: (session) => {
          store.playbackHistory.upsert(session).catch((error: unknown) => logger.error('could not save a playback session', { err: error }));
        },
      },
      logger: logger.child({ component: 'devices' }),
    });
    this.registryInstance = registry;
    const cloud = new CloudConnection({
      settings: options.cloud,
      dataDir: options.dataDir,
      brokerUrl,
      registry,
      logger,
      // Virtual players fetch streams only from the hub (and the virtual cloud) unless configured otherwise.
      hubOrigins: () => [this.httpServer?.url, options.http.publicUrl].filter((url): url is string => url !== undefined),
      ...this.deps.cloud,
    });
    cloud.on('state', (state, active) => this.emit('cloud-status', state, active));
    cloud.on('sign-in', (links) => this.emit('cloud-sign-in', links));
    this.cloudConnection = cloud;
    const bridge = new HomeBrokerBridge({ broker: client, registry, commander: cloud, logger: logger.child({ component: 'bridge' }) });
    this.bridgeInstance = bridge;
    bridge.start();
    await cloud.start();
    this.retentionTimer = setInterval(() => {
      store.events.enforceRetention().catch((error: unknown) => logger.warn('event log retention failed', { err: error }));
    }, 60 * 60_000);

    const http = new HubHttpServer({
      host: options.http.host,
      port: options.http.port,
      panelDir: this.deps.panelDir ?? panelDistDir,
      logger: logger.child({ component: 'http' }),
    });
    this.httpServer = http;
    const accounts = await createAccounts({ store, logger: logger.child({ component: 'accounts' }) });
    this.accountsInstance = accounts;
    const admin = adminCredentialsFromEnv(this.deps.env ?? process.env);
    if (admin) {
      const { created } = await accounts.ensureAdmin(admin);
      if (created) logger.info('created the admin account from YOTO_ADMIN_EMAIL', { email: admin.email });
    }
    // The library asks the scripts whether a file is in use; the scripts are made after it.
    const library = createAudioLibrary({ store, dataDir: options.dataDir, logger, isInUse: (fileId) => this.scriptsInstance?.isFileInUse(fileId) });
    this.libraryInstance = library;
    const streams = createStreamService({
      dataDir: options.dataDir,
      publicUrl: options.http.publicUrl,
      hubUrl: () => http.url,
      library: library.files,
      logger: logger.child({ component: 'streams' }),
    });
    this.streamsInstance = streams;
    this.stopStreamAlerts = raiseStreamFailureAlerts({ events: streams.events, registry });
    const scripts = createScripts({ store, library: library.files, streams, cloud, logger: logger.child({ component: 'scripts' }) });
    this.scriptsInstance = scripts;
    // Turns a story card's chapter changes into story_node_entered events on every surface.
    const follower = new StoryFollower({ store, registry, logger: logger.child({ component: 'stories' }) });
    this.storyFollower = follower;
    follower.start();
    const metrics = createMetrics({ registry, broker: () => client.health(), cloud: () => cloud.health(), webSocketClients: () => http.wss.clients.size });
    this.metricsInstance = metrics;
    // Every request gets an id: API routes, and player streams, /metrics and the panel's files.
    const requestIds = requestContext(logger.child({ component: 'http' }));
    http.useApi(requestIds);
    http.mountRoot('/', requestIds);
    http.useApi(metrics.middleware);
    http.mountApi('/', openApiRoutes());
    http.mountApi('/system', systemRoutes(() => this.health()));
    http.mountApi('/auth', accounts.router);
    http.useApi(accounts.authenticate);
    http.mountApi('/system', configRoutes({ options, logger }));
    http.mountApi('/system', signInRoutes(() => cloud));
    http.mountApi('/devices', createDevicesApi({ store, registry, commander: cloud, logger, source: () => cloud.active ?? 'yoto' }));
    const analytics = createAnalyticsApi({ store, registry, logger });
    this.analyticsInstance = analytics;
    http.mountApi('/analytics', analytics.router);
    await analytics.ready;
    http.mountRoot('/metrics', metrics.router);
    http.mountApi('/audio', library.router);
    http.mountApi('/scripts', scripts.router);
    http.mountApi('/icons', scripts.iconsRouter);
    http.mountApi(
      '/streams/smart',
      smartStreamRoutes({
        streams,
        library: library.files,
        logger,
        isInUse: (id) => scripts.isSmartStreamInUse(id),
      }),
    );
    http.mountApi(
      '/stories',
      createStoriesApi({
        store,
        deploy: storyDeployer(store, (scriptId, deviceId, user) => scripts.deploy(scriptId, deviceId, user)),
        audioExists: (fileId) => library.files.get(fileId) !== undefined,
        logger: logger.child({ component: 'stories' }),
      }),
    );
    // Players cannot send headers: their stream URLs carry a signed token instead of a session.
    // Their requests are counted in /metrics like the API's (the token is in the query, not the route label).
    http.mountRoot('/stream', metrics.middleware);
    http.mountRoot('/stream', streams.router);
    const realtime = new RealtimeGateway({
      wss: http.wss,
      registry,
      authenticate: (token) => accounts.verifyAccessToken(token),
      canSee: (user, deviceId) => this.canSeeDevice(user, deviceId),
      logger: logger.child({ component: 'realtime' }),
    });
    this.realtimeInstance = realtime;
    realtime.start();
    await http.listen();
    // Said once the server listens, so the address is the one to open (not port 0 when the port is chosen by the OS).
    if (!admin && accounts.needsOnboarding()) logger.info('no accounts yet: open the panel to create the admin', { url: http.url });

    this.startedAt = new Date();
    this.setState('running');
  }

  private async stopComponents(): Promise<void> {
    const { httpServer, brokerClient, embeddedBroker, storeInstance, bridgeInstance, cloudConnection, registryInstance } = this;
    const { accountsInstance, libraryInstance, realtimeInstance, streamsInstance, analyticsInstance, metricsInstance } = this;
    this.analyticsInstance = undefined;
    this.metricsInstance = undefined;
    this.storyFollower?.stop();
    this.storyFollower = undefined;
    this.stopStreamAlerts?.();
    this.stopStreamAlerts = undefined;
    analyticsInstance?.stop();
    metricsInstance?.stop();
    this.streamsInstance = undefined;
    this.scriptsInstance = undefined;
    this.accountsInstance = undefined;
    this.libraryInstance = undefined;
    this.realtimeInstance = undefined;
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    this.bridgeInstance = undefined;
    this.cloudConnection = undefined;
    this.registryInstance = undefined;
    this.httpServer = undefined;
    this.brokerClient = undefined;
    this.embeddedBroker = undefined;
    this.storeInstance = undefined;
    this.startedAt = undefined;
    // Reverse order of start: stop taking requests first, close the store last so nothing writes after it.
    const steps: Array<[string, (() => Promise<void>) | undefined]> = [
      ['WebSocket gateway', realtimeInstance && (async () => realtimeInstance.stop())],
      ['http server', httpServer && (() => httpServer.close())],
      ['audio library', libraryInstance && (() => libraryInstance.close())],
      ['streams', streamsInstance && (() => streamsInstance.close())],
      ['accounts', accountsInstance && (() => accountsInstance.close())],
      ['home broker bridge', bridgeInstance && (async () => bridgeInstance.stop())],
      ['Yoto cloud connection', cloudConnection && (() => cloudConnection.stop())],
      ['device registry', registryInstance && (async () => registryInstance.stop())],
      ['home broker client', brokerClient && (() => brokerClient.stop())],
      ['embedded broker', embeddedBroker && (() => embeddedBroker.stop())],
      ['store', storeInstance && (() => storeInstance.close())],
    ];
    for (const [name, stop] of steps) {
      if (!stop) continue;
      try {
        await stop();
      } catch (error) {
        this.logger.error(`failed to stop the ${name}`, { err: error });
      }
    }
    brokerClient?.removeAllListeners();
    cloudConnection?.removeAllListeners();
  }

  private setState(state: HubState): void {
    if (state === this.hubState) return;
    this.hubState = state;
    this.emit('state', state);
  }
}
