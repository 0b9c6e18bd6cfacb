import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import { ApiError } from './api-error';

/**
 * Routes the hub server answers ahead of Express (no security-header middleware chain, JSON body
 * parser or router): player requests, which come many times a second while a player seeks and
 * must do the minimum. Each route is a GET (and HEAD) with one path parameter.
 */
export interface DirectRoute {
  /** `/<segment>/:<name>`, e.g. `/audio/:fileId`; with the mount prefix, also the metrics label. */
  path: string;
  /** `param` is the decoded parameter; `query` the parsed query string (as Express's simple parser gives it). */
  handle(req: IncomingMessage, res: ServerResponse, param: string, query: ParsedUrlQuery): Promise<void>;
}

/** A set of direct routes for one mount, and what a path under it that none matches is ("stream": "stream not found"). */
export interface DirectRoutes {
  routes: readonly DirectRoute[];
  notFound: string;
}

/**
 * Runs before a direct route (request ids, metrics), as Express middleware would. `route` is the
 * matched pattern with its mount (`/stream/audio/:fileId`), or `unmatched`. Calls `next` once.
 */
export type DirectMiddleware = (req: IncomingMessage, res: ServerResponse, route: string, next: () => void) => void;

/** What a request to a direct mount asks for: the route to run (undefined: 404) and its parameter. */
export interface DirectMatch {
  route: string;
  handle?: DirectRoute['handle'];
  param: string;
  query: ParsedUrlQuery;
}

/** One prefix (`/stream`) and its routes, matched as Express would: case-insensitive, a trailing slash allowed. */
export class DirectMount {
  private readonly routes = new Map<string, { label: string; handle: DirectRoute['handle'] }>();
  private readonly lowerPrefix: string;

  readonly notFound: string;

  constructor(readonly prefix: string, direct: DirectRoutes) {
    this.lowerPrefix = prefix.toLowerCase();
    this.notFound = direct.notFound;
    for (const route of direct.routes) {
      const match = /^\/([^/:]+)\/:([A-Za-z_]\w*)$/.exec(route.path);
      if (!match) throw new TypeError(`a direct route is /<segment>/:<name>, not ${route.path}`);
      this.routes.set(match[1]!.toLowerCase(), { label: `${prefix}${route.path}`, handle: route.handle });
    }
  }

  /** Whether `pathname` is under this mount (`/stream` or `/stream/...`). */
  covers(pathname: string): boolean {
    const lower = pathname.length === this.prefix.length || pathname[this.prefix.length] === '/' ? pathname.slice(0, this.prefix.length).toLowerCase() : '';
    return lower === this.lowerPrefix;
  }

  /** The route for a request under this mount; throws a 400 ApiError for a bad percent-escape. */
  match(method: string | undefined, pathname: string, search: string): DirectMatch {
    const rest = pathname.slice(this.prefix.length);
    const query = search === '' ? {} : parseQuery(search);
    const unmatched: DirectMatch = { route: 'unmatched', param: '', query };
    if (method !== 'GET' && method !== 'HEAD') return unmatched;
    // `/<segment>/<param>` with an optional trailing slash.
    const second = rest.indexOf('/', 1);
    if (rest[0] !== '/' || second === -1) return unmatched;
    const end = rest.endsWith('/') ? rest.length - 1 : rest.length;
    const encoded = rest.slice(second + 1, end);
    if (encoded === '' || encoded.includes('/')) return unmatched;
    const route = this.routes.get(rest.slice(1, second).toLowerCase());
    if (!route) return unmatched;
    let param: string;
    try {
      param = decodeURIComponent(encoded);
    } catch {
      throw new ApiError(400, 'invalid_path', 'the URL path has an invalid percent-escape');
    }
    return { route: route.label, handle: route.handle, param, query };
  }
}

/** The path and the query string (without `?`) of a request URL. */
export function splitUrl(url: string): [pathname: string, search: string] {
  const mark = url.indexOf('?');
  return mark === -1 ? [url, ''] : [url.slice(0, mark), url.slice(mark + 1)];
}
