import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { type Router } from 'express';
import { packageVersion, schemasDir } from '../paths';
import { getValidator, type SchemaName, type Validator } from '../validation';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One operation of the hub's API. */
export interface RouteDoc {
  method: HttpMethod;
  /** Express style, e.g. /api/devices/:id */
  path: string;
  tag: string;
  summary: string;
  /** Schema name (schemas/<name>.schema.json) of the JSON body. */
  body?: SchemaName;
  /** An inline JSON Schema of a JSON body the router checks by hand (no schemas/ file). */
  bodySchema?: InlineSchema;
  /** A non-JSON body, e.g. multipart/form-data for uploads. */
  bodyType?: string;
  /** Schema name of the success answer, or a free-form description. */
  response?: SchemaName | { description: string; contentType?: string };
  /** The success status (default 200). */
  status?: number;
  query?: string[];
  /** Default true: needs a signed-in user. */
  auth?: boolean;
  admin?: boolean;
}

/** A JSON Schema written inline (for bodies checked by hand in a router). */
export type InlineSchema = { [key: string]: InlineJson };
type InlineJson = null | boolean | number | string | InlineJson[] | { [key: string]: InlineJson };

const str = (extra: InlineSchema = {}): InlineSchema => ({ type: 'string', ...extra });
const obj = (properties: { [key: string]: InlineSchema }, required: string[] = [], additionalProperties = false): InlineSchema => ({ type: 'object', properties, required, additionalProperties });
const PLAYER_ID = str({ pattern: '^[A-Za-z0-9_-]{1,128}$' });
const SMART_STREAM = obj({
  id: PLAYER_ID,
  name: str(),
  windows: { type: 'array', items: { type: 'object' } },
  playlist: { type: 'array', items: str() },
  fallbackFileId: str(),
});
const dev = (method: HttpMethod, path: string, summary: string, extra: Partial<RouteDoc> = {}): RouteDoc => ({ method, path, tag: 'devices', summary, ...extra });

/** The hub's API, as mounted by server/hub.ts: server/accounts, library, scripts (and icons), streams (smart routes and /stream), stories, devices, analytics, system. */
export const HUB_ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/api/auth/status', tag: 'auth', summary: 'Whether the hub has an admin yet', auth: false },
  { method: 'post', path: '/api/auth/onboarding', tag: 'auth', summary: 'Create the first admin', auth: false, status: 201, bodySchema: obj({ email: str(), name: str(), password: str() }, ['email', 'name', 'password']) },
  { method: 'post', path: '/api/auth/login', tag: 'auth', summary: 'Sign in: access and refresh tokens', auth: false, bodySchema: obj({ email: str(), password: str() }, ['email', 'password']) },
  { method: 'post', path: '/api/auth/refresh', tag: 'auth', summary: 'Rotate the refresh token for a new access token', auth: false, bodySchema: obj({ refreshToken: str() }, ['refreshToken']) },
  { method: 'post', path: '/api/auth/logout', tag: 'auth', summary: 'Revoke the refresh token', auth: false, bodySchema: obj({ refreshToken: str() }, ['refreshToken']) },
  { method: 'post', path: '/api/auth/register', tag: 'auth', summary: 'Create an account with an invitation', auth: false, status: 201, bodySchema: obj({ invitationToken: str(), name: str(), password: str() }, ['invitationToken', 'name', 'password']) },
  { method: 'get', path: '/api/auth/me', tag: 'auth', summary: 'The signed-in user' },
  { method: 'post', path: '/api/auth/invitations', tag: 'auth', summary: 'Invite a user', admin: true, status: 201, bodySchema: obj({ email: str(), role: str({ enum: ['admin', 'member'] }) }, ['email']) },
  { method: 'get', path: '/api/auth/tokens', tag: 'auth', summary: 'The caller\'s API tokens (names and dates, never the tokens)' },
  { method: 'post', path: '/api/auth/tokens', tag: 'auth', summary: 'Create a named API token (shown once; Authorization: Bearer <token> on REST and /ws, with the user\'s rights)', status: 201, bodySchema: obj({ name: str() }, ['name']) },
  { method: 'delete', path: '/api/auth/tokens/:id', tag: 'auth', summary: 'Revoke an API token (own; an admin: anyone\'s); its open WebSockets close', status: 204 },
  { method: 'get', path: '/api/auth/users', tag: 'auth', summary: 'List users', admin: true },
  { method: 'patch', path: '/api/auth/users/:id', tag: 'auth', summary: 'Change a user', admin: true, bodySchema: obj({ role: str({ enum: ['admin', 'member'] }), disabled: { type: 'boolean' }, name: str() }, [], false) },
  { method: 'delete', path: '/api/auth/users/:id', tag: 'auth', summary: 'Delete a user', admin: true, status: 204 },
  { method: 'get', path: '/api/audio', tag: 'audio', summary: 'List audio files (members: their own)', query: ['q', 'sort', 'page', 'pageSize'] },
  { method: 'post', path: '/api/audio', tag: 'audio', summary: 'Upload an audio file', bodyType: 'multipart/form-data', response: 'audio-file', status: 201 },
  { method: 'get', path: '/api/audio/:id', tag: 'audio', summary: 'One audio file', response: 'audio-file' },
  { method: 'patch', path: '/api/audio/:id', tag: 'audio', summary: 'Change an audio file\'s title or tags', response: 'audio-file', bodySchema: obj({ title: str(), tags: { type: 'object', additionalProperties: str() } }) },
  { method: 'delete', path: '/api/audio/:id', tag: 'audio', summary: 'Delete an audio file', status: 204 },
  { method: 'get', path: '/api/audio/:id/download', tag: 'audio', summary: 'Download the file', response: { description: 'the audio', contentType: 'audio/*' } },
  { method: 'get', path: '/api/audio/:id/stream', tag: 'audio', summary: 'Stream the file (HTTP Range)', response: { description: 'the audio', contentType: 'audio/*' } },
  { method: 'get', path: '/api/audio/:id/cover', tag: 'audio', summary: 'The cover image (404 when the file has none)', response: { description: 'the image', contentType: 'image/*' } },
  { method: 'get', path: '/api/scripts', tag: 'scripts', summary: 'List scripts: {items, total}' },
  { method: 'post', path: '/api/scripts', tag: 'scripts', summary: 'Create a script (id, owner and timestamps are the server\'s)', body: 'script', response: 'script', status: 201 },
  { method: 'get', path: '/api/scripts/:id', tag: 'scripts', summary: 'One script', response: 'script' },
  { method: 'put', path: '/api/scripts/:id', tag: 'scripts', summary: 'Change a script (fields sent replace the stored ones)', body: 'script', response: 'script' },
  { method: 'patch', path: '/api/scripts/:id', tag: 'scripts', summary: 'Change a script (same as PUT)', body: 'script', response: 'script' },
  { method: 'delete', path: '/api/scripts/:id', tag: 'scripts', summary: 'Delete a script (its stream URLs stop working)', status: 204 },
  {
    method: 'post', path: '/api/scripts/:id/deploy', tag: 'scripts', summary: 'Save the script\'s card and play it on a player',
    bodySchema: obj({ deviceId: PLAYER_ID, chapterKey: str(), trackKey: str(), secondsIn: { type: 'number', minimum: 0 }, volume: { type: 'integer', minimum: 0, maximum: 100 }, sleepSeconds: { type: 'integer', minimum: 0 } }, ['deviceId']),
  },
  { method: 'get', path: '/api/icons', tag: 'scripts', summary: 'Yoto\'s public icons and yours: {public, mine}' },
  { method: 'post', path: '/api/icons', tag: 'scripts', summary: 'Upload a 16x16 PNG or GIF icon', bodyType: 'image/png', status: 201 },
  { method: 'get', path: '/api/streams/smart', tag: 'streams', summary: 'List smart streams: {items, total}' },
  { method: 'post', path: '/api/streams/smart', tag: 'streams', summary: 'Define a smart stream (id optional)', status: 201, bodySchema: SMART_STREAM },
  { method: 'get', path: '/api/streams/smart/:id', tag: 'streams', summary: 'A smart stream and what it plays now' },
  { method: 'put', path: '/api/streams/smart/:id', tag: 'streams', summary: 'Replace (or create, 201) a smart stream\'s definition', bodySchema: SMART_STREAM },
  { method: 'delete', path: '/api/streams/smart/:id', tag: 'streams', summary: 'Delete a smart stream (409 while a script plays it)', status: 204 },
  { method: 'put', path: '/api/streams/smart/:id/value', tag: 'streams', summary: 'Set the audio it plays ({fileId}, null clears)', bodySchema: obj({ fileId: { type: ['string', 'null'] } }, ['fileId']) },
  { method: 'delete', path: '/api/streams/smart/:id/value', tag: 'streams', summary: 'Clear the value (the rules apply again)' },
  { method: 'get', path: '/api/stories', tag: 'stories', summary: 'List CYOA stories: {stories}' },
  { method: 'post', path: '/api/stories', tag: 'stories', summary: 'Create a story: {story, findings}', body: 'cyoa-story', status: 201 },
  { method: 'post', path: '/api/stories/import/twee', tag: 'stories', summary: 'Import a Twee 3 story: {story, importFindings, findings}', bodyType: 'text/plain', status: 201 },
  { method: 'get', path: '/api/stories/:id', tag: 'stories', summary: 'One story: {story, findings}' },
  { method: 'get', path: '/api/stories/:id/findings', tag: 'stories', summary: 'The validator\'s findings: {deployable, findings}' },
  { method: 'get', path: '/api/stories/:id/card', tag: 'stories', summary: 'The interactive card deploy would upload (stream URLs signed for deviceId when given), with the validator\'s findings', query: ['deviceId'], response: 'story-card' },
  { method: 'put', path: '/api/stories/:id', tag: 'stories', summary: 'Replace a story: {story, findings}', body: 'cyoa-story' },
  { method: 'delete', path: '/api/stories/:id', tag: 'stories', summary: 'Delete a story', status: 204 },
  { method: 'post', path: '/api/stories/:id/test', tag: 'stories', summary: 'Run the story\'s expect cases through the simulator' },
  { method: 'post', path: '/api/stories/:id/deploy', tag: 'stories', summary: 'Deploy a story as an interactive card (422 with findings when invalid)', bodySchema: obj({ deviceId: PLAYER_ID }, ['deviceId'], true) },
  { method: 'get', path: '/api/stories/:id/twee', tag: 'stories', summary: 'The story as Twee 3', response: { description: 'Twee 3 text', contentType: 'text/plain' } },
  { method: 'get', path: '/api/stories/:id/flow', tag: 'stories', summary: 'A Node-RED flow of the story', query: ['deviceId', 'hubId'] },
  dev('get', '/api/devices', 'Players the caller may see'),
  dev('post', '/api/devices', 'Register (claim) a player', { body: 'device-registration', status: 201 }),
  dev('get', '/api/devices/:id', 'A player: stored registration merged with live state'),
  dev('patch', '/api/devices/:id', 'Change a registered player', { body: 'device-update' }),
  dev('delete', '/api/devices/:id', 'Unregister a player', { status: 204 }),
  dev('post', '/api/devices/:id/command', 'Send a command (the yoto/{id}/commands JSON)', { body: 'broker-command' }),
  dev('get', '/api/devices/:id/events', 'The player\'s events, newest first, paged', { query: ['type', 'since', 'until', 'before', 'limit'] }),
  dev('get', '/api/devices/:id/status', 'Status and playback as on yoto/{id}/status and yoto/{id}/playback'),
  dev('get', '/api/devices/:id/settings', 'The player\'s settings (cached; ?fresh=true reads the cloud) and what its model can do', { response: 'player-settings', query: ['fresh'] }),
  dev('patch', '/api/devices/:id/settings', 'Change some settings (read-merge-write: the others keep their values)', { body: 'player-settings-change', response: 'player-settings' }),
  dev('get', '/api/devices/:id/alarms', 'The player\'s alarms: {alarms}'),
  dev('post', '/api/devices/:id/alarms', 'Add an alarm', { body: 'player-alarm', status: 201 }),
  dev('get', '/api/devices/:id/alarms/:alarmId', 'One alarm (by its position)'),
  dev('patch', '/api/devices/:id/alarms/:alarmId', 'Change, enable or disable an alarm', { body: 'player-alarm' }),
  dev('delete', '/api/devices/:id/alarms/:alarmId', 'Delete an alarm (later ones move up)', { status: 204 }),
  { method: 'get', path: '/api/cards', tag: 'cards', summary: 'The family library (bought, MYO, podcasts): {cards}; ?q= searches titles and authors, ?group= one group (id or name)', query: ['q', 'group'] },
  { method: 'get', path: '/api/cards/groups', tag: 'cards', summary: 'The family library\'s groups: {groups}' },
  { method: 'get', path: '/api/cards/:cardId', tag: 'cards', summary: 'One card of the library with its chapters and tracks' },
  {
    method: 'post', path: '/api/announcements', tag: 'announcements', summary: 'Announce on players (text, library file or URL); 202 with the announcement and each player\'s status (members: their players only)',
    body: 'broker-announcement', response: 'announcement', status: 202,
  },
  { method: 'get', path: '/api/announcements', tag: 'announcements', summary: 'Recent announcements with their outcome per player: {announcements}' },
  { method: 'get', path: '/api/announcements/:id', tag: 'announcements', summary: 'One announcement and its outcome per player', response: 'announcement' },
  { method: 'get', path: '/api/analytics/overview', tag: 'analytics', summary: 'Totals over a range', query: ['from', 'to'] },
  { method: 'get', path: '/api/analytics/devices', tag: 'analytics', summary: 'Totals per player', query: ['from', 'to'] },
  { method: 'get', path: '/api/analytics/content', tag: 'analytics', summary: 'Popularity by card', query: ['from', 'to'] },
  { method: 'get', path: '/api/analytics/playback', tag: 'analytics', summary: 'Listening sessions', query: ['from', 'to', 'deviceId', 'limit'] },
  { method: 'get', path: '/api/system/health', tag: 'system', summary: 'Health: the overall status for anyone; component states for members; every detail (credentials redacted) for admins', auth: false },
  { method: 'get', path: '/api/system/config', tag: 'system', summary: 'The hub settings, without secrets' },
  { method: 'put', path: '/api/system/config', tag: 'system', summary: 'Save the hub settings (applied on restart)', body: 'hub-config', admin: true },
  { method: 'get', path: '/api/system/cloud/sign-in', tag: 'system', summary: 'Yoto sign-in state: {available, signedIn, active, scopes, url?, redirectUri?, problem?}', admin: true },
  { method: 'post', path: '/api/system/cloud/sign-in', tag: 'system', summary: 'A Yoto sign-in link (fresh: true replaces a waiting one)', admin: true, bodySchema: obj({ fresh: { type: 'boolean' } }) },
  { method: 'post', path: '/api/system/cloud/sign-in/complete', tag: 'system', summary: 'Finish the sign-in with the address the browser ended on (headless hubs)', admin: true, bodySchema: obj({ url: { type: 'string', minLength: 1, maxLength: 8192 } }, ['url']) },
  { method: 'get', path: '/api/openapi.json', tag: 'system', summary: 'This document', auth: false },
  { method: 'get', path: '/metrics', tag: 'system', summary: 'Prometheus metrics', auth: false, response: { description: 'Prometheus text format 0.0.4', contentType: 'text/plain' } },
  { method: 'get', path: '/stream/audio/:fileId', tag: 'streams', summary: 'An audio file for a player (signed URL token in ?t=, HTTP Range, HEAD)', auth: false, query: ['t'], response: { description: 'the audio', contentType: 'audio/*' } },
  { method: 'get', path: '/stream/smart/:streamId', tag: 'streams', summary: 'What a smart stream plays now, for a player (signed URL token in ?t=)', auth: false, query: ['t'], response: { description: 'the audio', contentType: 'audio/*' } },
];

export interface BuildOpenApiOptions {
  routes?: readonly RouteDoc[];
  validator?: Validator;
  serverUrl?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SUFFIX = '.schema.json';
const COMPONENTS = '#/components/schemas/';

/**
 * An OpenAPI 3.1 document of the hub's API. Its component schemas are the
 * JSON Schemas of schemas/ (2020-12, which 3.1 uses as is): each file under
 * its title, each of its `$defs` under the def's title (or file title + name),
 * with every `$ref` rewritten to `#/components/schemas/<name>`.
 */
export function buildOpenApi(options: BuildOpenApiOptions = {}): JsonObject {
  const validator = options.validator ?? getValidator();
  const routes = options.routes ?? HUB_ROUTES;
  const files = new Map<string, JsonObject>();
  for (const name of validator.names()) files.set(`${name}${SUFFIX}`, validator.schema(name) as unknown as JsonObject);
  files.set(`common${SUFFIX}`, commonSchema());

  const titleOf = (file: string): string => {
    const title = files.get(file)?.['title'];
    return typeof title === 'string' ? title : pascal(file.replace(SUFFIX, ''));
  };
  const defName = (file: string, def: string): string => {
    const defs = files.get(file)?.['$defs'];
    const schema = typeof defs === 'object' && defs !== null && !Array.isArray(defs) ? defs[def] : undefined;
    const title = typeof schema === 'object' && schema !== null && !Array.isArray(schema) ? schema['title'] : undefined;
    return typeof title === 'string' ? title : `${titleOf(file)}${pascal(def)}`;
  };
  const rewriteRef = (ref: string, file: string): string => {
    const [target, fragment = ''] = ref.split('#');
    const targetFile = target === '' || target === undefined ? file : target.replace(/^.*\//, '');
    const def = /^\/\$defs\/([^/]+)$/.exec(fragment);
    if (def) return COMPONENTS + defName(targetFile, def[1]!);
    if (fragment === '' || fragment === '/') return COMPONENTS + titleOf(targetFile);
    throw new Error(`cannot express $ref "${ref}" of ${file} as a component`);
  };
  const convert = (node: Json, file: string): Json => {
    if (Array.isArray(node)) return node.map((child) => convert(child, file));
    if (typeof node !== 'object' || node === null) return node;
    const result: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') result[key] = rewriteRef(value, file);
      else if (key === '$id' || key === '$schema' || key === '$defs') continue;
      else result[key] = convert(value, file);
    }
    return result;
  };

  const schemas: JsonObject = {};
  for (const [file, document] of files) {
    if (file !== `common${SUFFIX}`) schemas[titleOf(file)] = convert(document, file);
    const defs = document['$defs'];
    if (typeof defs === 'object' && defs !== null && !Array.isArray(defs)) {
      for (const [def, schema] of Object.entries(defs)) schemas[defName(file, def)] = convert(schema, file);
    }
  }
  const schemaRef = (name: SchemaName): JsonObject => ({ $ref: COMPONENTS + titleOf(`${name}${SUFFIX}`) });

  const paths: JsonObject = {};
  for (const route of routes) {
    const openPath = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const item = (paths[openPath] ??= {}) as JsonObject;
    const parameters: Json[] = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));
    for (const name of route.query ?? []) parameters.push({ name, in: 'query', required: false, schema: { type: 'string' } });
    const status = String(route.status ?? 200);
    const success: JsonObject =
      status === '204'
        ? { description: 'done, no content' }
        : typeof route.response === 'object'
          ? { description: route.response.description, content: { [route.response.contentType ?? 'application/json']: {} } }
          : { description: 'success', content: { 'application/json': { schema: route.response ? schemaRef(route.response) : { type: 'object' } } } };
    const error = (description: string): JsonObject => ({ description, content: { 'application/json': { schema: { $ref: `${COMPONENTS}ApiError` } } } });
    const responses: JsonObject = { [status]: success, '400': error('invalid request') };
    if (route.auth !== false) responses['401'] = error('not signed in');
    if (route.admin) responses['403'] = error('admins only');
    if (route.path.includes(':')) responses['404'] = error('not found (or not yours)');
    const operation: JsonObject = {
      tags: [route.tag],
      summary: route.summary,
      operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      responses,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.auth === false ? { security: [] } : {}),
    };
    if (route.body) operation['requestBody'] = { required: true, content: { 'application/json': { schema: schemaRef(route.body) } } };
    else if (route.bodySchema) operation['requestBody'] = { required: true, content: { 'application/json': { schema: route.bodySchema } } };
    else if (route.bodyType) operation['requestBody'] = { required: true, content: { [route.bodyType]: {} } };
    item[route.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: { title: 'Yoto Smart Stream hub API', version: packageVersion(), description: 'REST API of the Yoto Smart Stream hub. Errors are {error: {code, message, details}}.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    security: [{ bearer: [] }],
  };
}

/** GET /openapi.json (mount under /api, ahead of authentication if the document should be public). */
export function openApiRoutes(options: BuildOpenApiOptions = {}): Router {
  let document: string | undefined;
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    document ??= JSON.stringify(buildOpenApi(options));
    res.type('application/json').send(document);
  });
  return router;
}

/** common.schema.json holds shared $defs only and has no schema name; it is read from schemas/ directly. */
function commonSchema(): JsonObject {
  return JSON.parse(fs.readFileSync(path.join(schemasDir, `common${SUFFIX}`), 'utf8')) as JsonObject;
}

function pascal(text: string): string {
  return text.replace(/(^|[-_ ])([a-z0-9])/g, (_m, _s: string, c: string) => c.toUpperCase());
}
