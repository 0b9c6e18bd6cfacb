import { silentLogger, type Logger } from '../log/logger';
import { realClock, type Clock } from '../time/clock';
import type { CardInput } from '../yoto/card';
import { VirtualCardStore } from './cards/card-store';
import { DEFAULT_VIRTUAL_PLAYERS, type VirtualPlayerSpec } from './contracts';
import { VirtualDeviceRegistry } from './http/device-registry';
import { VirtualFamilyLibrary } from './family/family-library';
import { FaultInjector } from './http/faults';
import { VirtualMediaStore } from './http/media/media-store';
import { VirtualHttpServer } from './http/virtual-http-server';
import { VirtualPlayerFleet, type VirtualPlayerFleetOptions } from './players';
import { VirtualTokenService, type VirtualClientRegistry } from './tokens/token-service';
import type { LoginVerdict } from '../broker/embedded-broker';

/** The scope the Yoto MQTT broker needs to let a client follow and command players. */
const MQTT_SCOPE = 'family:devices:control';

export const DEFAULT_VIRTUAL_CLOUD_PORT = 1882;

export interface VirtualCloudOptions {
  /** Default 127.0.0.1: the control API has no authentication, so keep it on loopback unless you mean otherwise. */
  host?: string;
  /** Default 1882; 0 picks a free port. */
  port?: number;
  /** The MQTT broker the virtual players talk on (the hub's embedded one, usually). */
  brokerUrl: string;
  /** Keeps cards, settings, media and tokens across restarts; none: memory only. */
  dataDir?: string;
  players?: VirtualPlayerSpec[];
  /** Cards a new cloud starts with (none unless given; the hub gives DEMO_CARDS). */
  demoCards?: readonly CardInput[];
  clock?: Clock;
  /** Access token lifetime (default 3600 s). Short ones make token refresh visible. */
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  /** How long the virtual transcoder takes (default 1000 ms). */
  transcodeDelayMs?: number;
  /** Passed to the players' fleet (MQTT credentials, timing). */
  fleetOptions?: Pick<VirtualPlayerFleetOptions, 'mqttOptions' | 'timing'>;
  /** Apps allowed to sign in, with their scopes (default: only the hub's own client id, every scope). */
  clients?: VirtualClientRegistry;
  /**
   * Where players may fetch streaming tracks from besides this cloud: origins
   * (scheme://host:port), or '*' for any http(s) URL. Asked at each fetch, so a hub
   * whose port is chosen at start can answer once it listens. Default: this cloud only.
   */
  streamOrigins?: () => readonly string[];
  logger?: Logger;
}

/**
 * A local stand-in for the Yoto cloud, part of the product: people without a
 * player use it for demos, and every test uses it. Its HTTP side speaks the
 * real REST API and login (same paths, shapes and refusals); its players
 * speak the real MQTT protocol on the given broker. The hub's cloud adapter
 * talks to it exactly as to api.yotoplay.com, with only the URLs changed.
 */
export class VirtualCloud {
  readonly cards: VirtualCardStore;
  /** Bought cards and the MYO cards above, with groups: what players can play. */
  readonly family: VirtualFamilyLibrary;
  readonly tokens: VirtualTokenService;
  readonly media: VirtualMediaStore;
  readonly devices: VirtualDeviceRegistry;
  readonly faults = new FaultInjector();
  readonly fleet: VirtualPlayerFleet;
  private readonly http: VirtualHttpServer;
  private readonly logger: Logger;
  private running = false;
  private readonly demoCards: readonly CardInput[];

  constructor(options: VirtualCloudOptions) {
    const clock = options.clock ?? realClock;
    const specs = options.players ?? DEFAULT_VIRTUAL_PLAYERS;
    this.demoCards = options.demoCards ?? [];
    this.logger = (options.logger ?? silentLogger).child({ component: 'virtual-cloud' });
    this.cards = new VirtualCardStore({ clock, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
    this.tokens = new VirtualTokenService({
      clock,
      logger: this.logger,
      ...(options.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}),
      ...(options.refreshTokenTtlSeconds !== undefined ? { refreshTokenTtlSeconds: options.refreshTokenTtlSeconds } : {}),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.clients ? { clients: options.clients } : {}),
    });
    this.media = new VirtualMediaStore({
      clock,
      ...(options.transcodeDelayMs !== undefined ? { transcodeDelayMs: options.transcodeDelayMs } : {}),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    });
    this.family = new VirtualFamilyLibrary(this.cards);
    const streamOrigins = options.streamOrigins ?? ((): readonly string[] => []);
    this.fleet = new VirtualPlayerFleet({
      brokerUrl: options.brokerUrl,
      cards: this.family,
      specs,
      clock,
      logger: this.logger,
      ...options.fleetOptions,
      allowStream: (url) => this.allowsStream(url, streamOrigins()),
    });
    this.devices = new VirtualDeviceRegistry(specs, this.fleet, options.dataDir);
    // Players follow their settings (day/night, maximum volume, alarms) as the cloud stores them.
    this.devices.on('config', (deviceId, config) => this.fleet.player(deviceId)?.applyConfig(config));
    this.http = new VirtualHttpServer({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? DEFAULT_VIRTUAL_CLOUD_PORT,
      tokens: this.tokens,
      cards: this.cards,
      family: this.family,
      media: this.media,
      devices: this.devices,
      fleet: this.fleet,
      faults: this.faults,
      logger: this.logger,
    });
  }

  /** The REST and login base URL, e.g. http://127.0.0.1:1882 (both apiUrl and authUrl of the adapter). */
  get url(): string {
    return this.http.url;
  }

  get port(): number {
    return this.http.port;
  }

  /** For the MQTT side: true for an access token this cloud issued that has not expired. */
  readonly verifyAccessToken = (token: string): boolean => this.tokens.verifyAccessToken(token);

  /**
   * The MQTT broker's check of an adapter login, as the Yoto cloud's custom authorizer
   * answers it: an unknown or expired token is refused (CONNACK 4), a token without
   * family:devices:control is not authorized (CONNACK 5).
   */
  readonly authorizeMqtt = (token: string): LoginVerdict => {
    const status = this.tokens.inspectAccessToken(token);
    if (status !== 'valid') return { returnCode: 4, reason: status === 'expired' ? 'the access token has expired' : 'the access token is not valid' };
    if (!this.tokens.accessTokenScopes(token).has(MQTT_SCOPE)) return { returnCode: 5, reason: `the access token lacks the scope ${MQTT_SCOPE}` };
    return true;
  };

  /** Players fetch only http(s) URLs of this cloud or of the allowed origins (a card must not make them fetch anything). */
  private allowsStream(url: URL, origins: readonly string[]): boolean {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (origins.includes('*')) return true;
    const allowed = new Set([new URL(this.url).origin, ...origins.flatMap((origin) => {
      try {
        return [new URL(origin).origin];
      } catch {
        return [];
      }
    })]);
    return allowed.has(url.origin);
  }

  /** Loads saved state, opens the HTTP port and brings the players online. On failure nothing is left running. */
  async start(): Promise<void> {
    if (this.running) return;
    try {
      await Promise.all([this.cards.load(), this.tokens.load(), this.media.load(), this.devices.load()]);
      await this.cards.seedIfNew(this.demoCards);
      for (const player of this.fleet.players()) player.applyConfig(this.devices.config(player.deviceId).config);
      await this.http.listen();
      await this.fleet.start();
    } catch (error) {
      await this.shutdown();
      throw error;
    }
    this.running = true;
    this.logger.info('virtual Yoto cloud running', { url: this.url, players: this.fleet.players().length });
  }

  /** Takes the players offline, closes the port and every connection, and finishes pending writes. */
  async stop(): Promise<void> {
    this.running = false;
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    await this.fleet.stop();
    await this.http.close();
    await Promise.all([this.cards.flush(), this.tokens.flush(), this.media.flush(), this.devices.flush()]);
  }
}
