import * as http from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from '../../log/logger';
import type { VirtualCardStore } from '../cards/card-store';
import type { VirtualFamilyLibrary } from '../family/family-library';
import type { VirtualFleet } from '../contracts';
import type { VirtualTokenService } from '../tokens/token-service';
import { authRoutes } from './auth-routes';
import { requireBearer } from './bearer';
import { contentRoutes, familyRoutes } from './content-routes';
import { controlRoutes } from './control-routes';
import type { VirtualDeviceRegistry } from './device-registry';
import { deviceRoutes } from './device-routes';
import { VirtualHttpError, virtualErrorHandler } from './errors';
import type { FaultInjector } from './faults';
import type { VirtualMediaStore } from './media/media-store';
import { mediaApiRoutes, mediaStorageRoutes } from './media-routes';
import { listenOn } from '../../http/listen';

export interface VirtualHttpServerOptions {
  host: string;
  /** 0: a free port. */
  port: number;
  tokens: VirtualTokenService;
  cards: VirtualCardStore;
  family: VirtualFamilyLibrary;
  media: VirtualMediaStore;
  devices: VirtualDeviceRegistry;
  fleet: VirtualFleet;
  faults: FaultInjector;
  logger: Logger;
}

/** The Yoto REST paths; every one needs a bearer token. */
const API_PREFIXES = ['/device-v2', '/content', '/media', '/card'];

/**
 * The virtual Yoto cloud's HTTP side: the login (/authorize, /oauth/token),
 * the REST subset the hub uses with the real shapes and refusals, and the
 * /virtual control API. It owns its socket and every connection.
 */
export class VirtualHttpServer {
  readonly app: Express = express();
  private server: http.Server | undefined;
  port = 0;

  constructor(private readonly options: VirtualHttpServerOptions) {
    const { tokens, cards, family, media, devices, fleet, faults, logger } = options;
    this.app.disable('x-powered-by');
    this.app.set('query parser', 'simple');
    this.app.use(controlRoutes(fleet, family, faults, logger));
    this.app.use(mediaStorageRoutes(media));
    this.app.use(faults.middleware());
    this.app.use(authRoutes(tokens));
    this.app.use(API_PREFIXES, requireBearer(tokens));
    this.app.use(deviceRoutes(devices));
    this.app.use(contentRoutes(cards, family));
    this.app.use(familyRoutes(family));
    this.app.use(mediaApiRoutes(media));
    this.app.use((req, _res, next) => next(VirtualHttpError.notFound(`${req.method} ${req.path}`)));
    this.app.use(virtualErrorHandler(logger));
  }

  get url(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = http.createServer(this.app);
    this.port = await listenOn(server, this.options.port, this.options.host, 'virtual Yoto cloud', 'choose another port for the virtual cloud (0 picks a free one)');
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
