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

export type HubState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface HubEvents {
  state: [state: HubState];
  'broker-status': [state: BrokerState];
}

export interface HubDependencies {
  logger?: Logger;
  /** Where the built panel is served from (tests may point elsewhere). */
  panelDir?: string;
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
      // The Yoto cloud adapter is not part of the hub yet; it reports itself here once it is.
      cloud: { status: 'not_configured', message: 'no Yoto cloud connection is configured' },
      http: this.httpServer
        ? { status: 'ok', url: this.httpServer.url, connections: this.httpServer.connectionCount() }
        : { status: 'stopped' },
    };
    return {
      status: overallStatus(
        { ...components, cloud: { status: 'ok' } },
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

    const http = new HubHttpServer({
      host: options.http.host,
      port: options.http.port,
      panelDir: this.deps.panelDir ?? panelDistDir,
      logger: logger.child({ component: 'http' }),
    });
    http.mountApi('/system', systemRoutes(() => this.health()));
    this.httpServer = http;
    await http.listen();

    this.startedAt = new Date();
    this.setState('running');
  }

  private async stopComponents(): Promise<void> {
    const { httpServer, brokerClient, embeddedBroker, storeInstance } = this;
    this.httpServer = undefined;
    this.brokerClient = undefined;
    this.embeddedBroker = undefined;
    this.storeInstance = undefined;
    this.startedAt = undefined;
    // Reverse order of start: stop taking requests first, close the store last so nothing writes after it.
    const steps: Array<[string, (() => Promise<void>) | undefined]> = [
      ['http server', httpServer && (() => httpServer.close())],
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
  }

  private setState(state: HubState): void {
    if (state === this.hubState) return;
    this.hubState = state;
    this.emit('state', state);
  }
}
