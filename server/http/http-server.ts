import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log/logger';
import { ApiError, toApiError } from './api-error';
import { listenOn } from './listen';

export interface HttpServerOptions {
  host: string;
  port: number;
  panelDir: string;
  logger: Logger;
}

/**
 * The hub's Express + WebSocket server. Routers are mounted under /api by the
 * capabilities that own them; this class owns the listening socket, every
 * connection, JSON errors and the panel's static files.
 */
export class HubHttpServer {
  readonly app: Express = express();
  readonly wss = new WebSocketServer({ noServer: true });
  private server: http.Server | undefined;
  private readonly api: Router = express.Router();
  /** Routes outside /api, ahead of the panel's files. */
  private readonly root: Router = express.Router();
  private readonly sockets = new Set<Duplex>();
  port = 0;

  constructor(private readonly options: HttpServerOptions) {
    this.app.disable('x-powered-by');
    // Security headers (CSP same-origin, nosniff, frame-ancestors none...). No CORS headers are
    // ever sent, so other origins cannot read the API from a browser.
    this.app.use(helmet({ crossOriginResourcePolicy: { policy: 'same-origin' } }));
    this.app.use('/api', express.json({ limit: '1mb' }), this.api);
    this.app.use('/api', (_req, _res, next) => next(ApiError.notFound('API route')));
    this.app.use(this.root);
    this.mountPanel();
    this.app.use(this.errorHandler);
  }

  /** Runs `handler` before every API route mounted after it (authentication, request ids). */
  useApi(handler: RequestHandler): void {
    this.api.use(handler);
  }

  /** Mounts a router at the server root, outside /api (player streams, /metrics). */
  mountRoot(prefix: string, router: Router | RequestHandler): void {
    this.root.use(prefix, recordMountPath, router);
  }

  /** Mounts a capability's router under /api/<prefix>. */
  mountApi(prefix: string, router: Router): void {
    this.api.use(prefix, recordMountPath, router);
  }

  get url(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `http://${host}:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = http.createServer(this.app);
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('upgrade', (request, socket, head) => {
      const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (pathname !== '/ws') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws: WebSocket) => this.wss.emit('connection', ws, request));
    });
    this.port = await listenOn(server, this.options.port, this.options.host, 'hub server', 'set YOTO_HUB_PORT or the hub node\'s port');
    this.server = server;
    this.options.logger.info('hub server listening', { url: this.url });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  connectionCount(): number {
    return this.sockets.size;
  }

  private mountPanel(): void {
    const { panelDir } = this.options;
    const index = path.join(panelDir, 'index.html');
    this.app.use(express.static(panelDir, { index: false, maxAge: '1h', setHeaders: noCacheForHtml }));
    // The panel routes on the client: every other GET that is not an API, stream or socket path gets its start page.
    this.app.get(/^\/(?!api\/|api$|ws$|stream\/|metrics$).*/, (_req, res, next) => {
      if (!fs.existsSync(index)) {
        next(new ApiError(503, 'panel_not_built', 'the web panel is not built; run "npm run build"'));
        return;
      }
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index);
    });
  }

  private readonly errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const apiError = toApiError(error);
    if (apiError) {
      res.status(apiError.status).json(apiError.toBody());
      return;
    }
    this.options.logger.error('request failed', { method: req.method, path: req.path, err: error });
    res.status(500).json({ error: { code: 'internal', message: 'internal server error', details: [] } });
  };
}

function noCacheForHtml(res: http.ServerResponse, filePath: string): void {
  if (filePath.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
}

/**
 * Remembers the mount a request last entered (`/api/scripts`, `/stream`) in
 * `res.locals.mountPath`. Express restores `req.baseUrl` when a router hands an
 * error on, so a route label written when the response finishes (metrics) reads
 * the mount from here.
 */
const recordMountPath: RequestHandler = (req, res, next) => {
  res.locals['mountPath'] = req.baseUrl;
  next();
};
