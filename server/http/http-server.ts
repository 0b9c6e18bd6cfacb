import * as http from 'node:http';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log/logger';
import { ApiError, toApiError } from './api-error';
import { DirectMount, splitUrl, type DirectMatch, type DirectMiddleware, type DirectRoutes } from './direct-routes';
import { listenOn } from './listen';
import { PANEL_CACHE, PanelPage, panelCacheControl } from './panel-files';

export interface HttpServerOptions {
  host: string;
  port: number;
  panelDir: string;
  logger: Logger;
  /** Largest WebSocket message a client may send, in bytes; a larger frame closes the connection (1009). Default 16 KiB. */
  maxWebSocketPayload?: number;
}

/** Decides a WebSocket upgrade before it is accepted; a refusal is answered in plain HTTP and the socket closed. */
export type UpgradeGate = (request: http.IncomingMessage) => { ok: true } | { ok: false; status: number; code: string; message: string };

/**
 * The WebSocket protocol's largest client message is a `renew` carrying an access token
 * (well under 4 KiB); ws's default of 100 MiB would let anyone make the hub buffer that much.
 */
export const DEFAULT_MAX_WEBSOCKET_PAYLOAD = 16 * 1024;

/**
 * The hub's Express + WebSocket server. Routers are mounted under /api by the
 * capabilities that own them; this class owns the listening socket, every
 * connection, JSON errors and the panel's static files.
 */
export class HubHttpServer {
  readonly app: Express = express();
  readonly wss: WebSocketServer;
  private upgradeGate: UpgradeGate | undefined;
  private server: http.Server | undefined;
  private readonly api: Router = express.Router();
  /** Routes outside /api, ahead of the panel's files. */
  private readonly root: Router = express.Router();
  private readonly sockets = new Set<Duplex>();
  /** Prefixes answered ahead of Express (player streams), and what runs before their routes. */
  private readonly directMounts: DirectMount[] = [];
  private readonly directMiddleware: DirectMiddleware[] = [];
  /** The security headers every answer carries, as the helmet middleware sets them (they do not depend on the request). */
  private readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  port = 0;

  constructor(private readonly options: HttpServerOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxWebSocketPayload ?? DEFAULT_MAX_WEBSOCKET_PAYLOAD });
    this.app.disable('x-powered-by');
    // Security headers (CSP same-origin, nosniff, frame-ancestors none...). No CORS headers are
    // ever sent, so other origins cannot read the API from a browser.
    const security = helmet({ crossOriginResourcePolicy: { policy: 'same-origin' } });
    this.securityHeaders = headersSetBy(security);
    this.app.use(security);
    this.app.use('/api', express.json({ limit: '1mb' }), this.api);
    this.app.use('/api', (_req, _res, next) => next(ApiError.notFound('API route')));
    this.app.use(this.root);
    this.mountPanel();
    this.app.use(this.errorHandler);
  }

  /** Every upgrade to /ws is put to `gate` first (the WebSocket gateway authenticates there). */
  gateUpgrades(gate: UpgradeGate): void {
    this.upgradeGate = gate;
  }

  /** Runs `handler` before every API route mounted after it (authentication, request ids). */
  useApi(handler: RequestHandler): void {
    this.api.use(handler);
  }

  /** Mounts a router at the server root, outside /api (player streams, /metrics). */
  mountRoot(prefix: string, router: Router | RequestHandler): void {
    this.root.use(prefix, recordMountPath, router);
  }

  /**
   * Answers `prefix` (`/stream`) ahead of Express: the security headers, then every `useDirect`
   * middleware, then the route; any other method or path under it answers 404 `not_found`
   * ("<notFound> not found"), errors answer as the API's do. For requests that come many times a
   * second and must do the minimum (a player seeking).
   */
  mountDirect(prefix: string, routes: DirectRoutes): void {
    this.directMounts.push(new DirectMount(prefix, routes));
  }

  /** Runs `middleware` before every direct route (request ids, metrics), in the order given. */
  useDirect(middleware: DirectMiddleware): void {
    this.directMiddleware.push(middleware);
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
    const server = http.createServer((req, res) => {
      if (this.directMounts.length > 0) {
        const [pathname, search] = splitUrl(req.url ?? '/');
        const mount = this.directMounts.find((m) => m.covers(pathname));
        if (mount) {
          this.serveDirect(mount, req, res, pathname, search);
          return;
        }
      }
      this.app(req, res);
    });
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
      const verdict = this.checkUpgrade(request);
      if (!verdict.ok) {
        refuseUpgrade(socket, verdict.status, verdict.code, verdict.message);
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

  private checkUpgrade(request: http.IncomingMessage): ReturnType<UpgradeGate> {
    if (!this.upgradeGate) return { ok: true };
    try {
      return this.upgradeGate(request);
    } catch (error) {
      this.options.logger.error('the WebSocket upgrade check failed', { err: error });
      return { ok: false, status: 503, code: 'unavailable', message: 'the hub cannot check this connection now; try again' };
    }
  }

  connectionCount(): number {
    return this.sockets.size;
  }

  private mountPanel(): void {
    const { panelDir } = this.options;
    const page = new PanelPage(path.join(panelDir, 'index.html'));
    // Chunks cached for good (hashed names), main.js and the page checked each time (panel-files.ts).
    this.app.use('/assets', express.static(path.join(panelDir, 'assets'), {
      index: false,
      maxAge: '1h',
      setHeaders: (res, filePath) => {
        const cacheControl = panelCacheControl(filePath);
        if (cacheControl) res.setHeader('Cache-Control', cacheControl);
      },
    }));
    this.app.use('/assets', (_req, _res, next) => next(ApiError.notFound('panel file')));
    // Other files of the panel's folder (not the page: it is served below, with its CSP).
    const publicFiles = express.static(panelDir, { index: false, maxAge: '1h' });
    this.app.use((req, res, next) => (req.path.endsWith('.html') ? next() : publicFiles(req, res, next)));
    // The panel routes on the client: every other GET that is not an API, stream or socket path gets its start page.
    this.app.get(/^\/(?!api\/|api$|ws$|stream\/|metrics$).*/, (_req, res, next) => {
      const built = page.read();
      if (!built) {
        next(new ApiError(503, 'panel_not_built', 'the web panel is not built; run "npm run build"'));
        return;
      }
      // The boot script is inline (one request less before the sign-in starts): the CSP names its hash.
      page.allowInlineScripts(res, built.scriptHashes);
      res.setHeader('Cache-Control', PANEL_CACHE.page);
      res.type('html').send(built.html);
    });
  }

  private serveDirect(mount: DirectMount, req: http.IncomingMessage, res: http.ServerResponse, pathname: string, search: string): void {
    for (const [name, value] of this.securityHeaders) res.setHeader(name, value);
    let match: DirectMatch;
    let refusal: unknown;
    try {
      match = mount.match(req.method, pathname, search);
    } catch (error) {
      match = { route: 'unmatched', param: '', query: {} };
      refusal = error;
    }
    const middleware = this.directMiddleware;
    let index = 0;
    const next = (): void => {
      if (index < middleware.length) {
        middleware[index++]!(req, res, match.route, next);
        return;
      }
      const handle = match.handle;
      if (refusal !== undefined || !handle) {
        this.answerError(refusal ?? ApiError.notFound(mount.notFound), req, res);
        return;
      }
      handle(req, res, match.param, match.query).catch((error: unknown) => this.answerError(error, req, res));
    };
    next();
  }

  /** The API's error answer (`{error: {code, message, details}}`), for Express and direct routes alike. */
  private answerError(error: unknown, req: http.IncomingMessage, res: http.ServerResponse): void {
    const apiError = this.toAnswer(error, req);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(apiError.toBody());
    res.writeHead(apiError.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** What an error thrown by a route answers: its ApiError (logged at debug when it was another 4xx error), else a logged 500. */
  private toAnswer(error: unknown, req: http.IncomingMessage): ApiError {
    const apiError = toApiError(error);
    if (apiError) {
      if (!(error instanceof ApiError)) this.options.logger.debug('request refused', { method: req.method, status: apiError.status, code: apiError.code });
      return apiError;
    }
    this.options.logger.error('request failed', { method: req.method, path: splitUrl(req.url ?? '/')[0], err: error });
    return new ApiError(500, 'internal', 'internal server error');
  }

  /** Express routes' errors answer as the direct routes' do. */
  private readonly errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => this.answerError(error, req, res);
}

/**
 * The headers a middleware that only sets headers (helmet) sets, recorded once so direct routes
 * can send the same without running it per request.
 */
function headersSetBy(middleware: RequestHandler): Array<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  let called = false;
  // A recorder standing for the response: helmet only sets and removes headers (no request field is read with its options).
  middleware({} as http.IncomingMessage as Parameters<RequestHandler>[0], recorder as unknown as Parameters<RequestHandler>[1], () => {
    called = true;
  });
  if (!called) throw new Error('the security headers middleware did not finish synchronously');
  return headers;
}

/** Answers a refused upgrade in plain HTTP with the API's error shape, then closes the socket. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message, details: [] } });
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Refused'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer error="invalid_token"'] : []),
    'Connection: close',
  ];
  socket.on('error', () => undefined);
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
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
