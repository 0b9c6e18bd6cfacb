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

const dev = (method: HttpMethod, path: string, summary: string, extra: Partial<RouteDoc> = {}): RouteDoc => ({ method, path, tag: 'devices', summary, ...extra });

/** The hub's API (DESIGN.md section 7 and the routers in server/accounts, server/library, devices, analytics, system). */
export const HUB_ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/api/auth/status', tag: 'auth', summary: 'Whether the hub has an admin yet', auth: false },
  { method: 'post', path: '/api/auth/onboarding', tag: 'auth', summary: 'Create the first admin', auth: false },
  { method: 'post', path: '/api/auth/login', tag: 'auth', summary: 'Sign in: access and refresh tokens', auth: false },
  { method: 'post', path: '/api/auth/refresh', tag: 'auth', summary: 'Rotate the refresh token for a new access token', auth: false },
  { method: 'post', path: '/api/auth/logout', tag: 'auth', summary: 'Revoke the refresh token', auth: false },
  { method: 'post', path: '/api/auth/register', tag: 'auth', summary: 'Create an account with an invitation', auth: false },
  { method: 'get', path: '/api/auth/me', tag: 'auth', summary: 'The signed-in user' },
  { method: 'post', path: '/api/auth/invitations', tag: 'auth', summary: 'Invite a user', admin: true },
  { method: 'get', path: '/api/auth/users', tag: 'auth', summary: 'List users', admin: true },
  { method: 'patch', path: '/api/auth/users/:id', tag: 'auth', summary: 'Change a user', admin: true },
  { method: 'delete', path: '/api/auth/users/:id', tag: 'auth', summary: 'Delete a user', admin: true, status: 204 },
  { method: 'get', path: '/api/audio', tag: 'audio', summary: 'List audio files', query: ['q', 'limit', 'offset'] },
  { method: 'post', path: '/api/audio', tag: 'audio', summary: 'Upload an audio file', bodyType: 'multipart/form-data', response: 'audio-file', status: 201 },
  { method: 'get', path: '/api/audio/:id', tag: 'audio', summary: 'One audio file', response: 'audio-file' },
  { method: 'patch', path: '/api/audio/:id', tag: 'audio', summary: 'Change an audio file', response: 'audio-file' },
  { method: 'delete', path: '/api/audio/:id', tag: 'audio', summary: 'Delete an audio file', status: 204 },
  { method: 'get', path: '/api/audio/:id/download', tag: 'audio', summary: 'Download the file', response: { description: 'the audio', contentType: 'audio/*' } },
  { method: 'get', path: '/api/audio/:id/stream', tag: 'audio', summary: 'Stream the file (HTTP Range)', response: { description: 'the audio', contentType: 'audio/*' } },
  { method: 'get', path: '/api/audio/:id/cover', tag: 'audio', summary: 'The cover image', response: { description: 'the image', contentType: 'image/*' } },
  { method: 'get', path: '/api/scripts', tag: 'scripts', summary: 'List scripts' },
  { method: 'post', path: '/api/scripts', tag: 'scripts', summary: 'Create a script', body: 'script', response: 'script', status: 201 },
  { method: 'get', path: '/api/scripts/:id', tag: 'scripts', summary: 'One script', response: 'script' },
  { method: 'put', path: '/api/scripts/:id', tag: 'scripts', summary: 'Replace a script', body: 'script', response: 'script' },
  { method: 'delete', path: '/api/scripts/:id', tag: 'scripts', summary: 'Delete a script', status: 204 },
  { method: 'post', path: '/api/scripts/:id/deploy', tag: 'scripts', summary: 'Deploy a script to a card' },
  { method: 'get', path: '/api/stories', tag: 'stories', summary: 'List CYOA stories' },
  { method: 'post', path: '/api/stories', tag: 'stories', summary: 'Create a story', body: 'cyoa-story', response: 'cyoa-story', status: 201 },
  { method: 'get', path: '/api/stories/:id', tag: 'stories', summary: 'One story', response: 'cyoa-story' },
  { method: 'put', path: '/api/stories/:id', tag: 'stories', summary: 'Replace a story', body: 'cyoa-story', response: 'cyoa-story' },
  { method: 'delete', path: '/api/stories/:id', tag: 'stories', summary: 'Delete a story', status: 204 },
  { method: 'post', path: '/api/stories/:id/deploy', tag: 'stories', summary: 'Deploy a story as an interactive card' },
  { method: 'post', path: '/api/stories/:id/test', tag: 'stories', summary: 'Validate and simulate a story' },
  dev('get', '/api/devices', 'Players the caller may see'),
  dev('post', '/api/devices', 'Register (claim) a player', { body: 'device-registration', status: 201 }),
  dev('get', '/api/devices/:id', 'A player: stored registration merged with live state'),
  dev('patch', '/api/devices/:id', 'Change a registered player', { body: 'device-update' }),
  dev('delete', '/api/devices/:id', 'Unregister a player', { status: 204 }),
  dev('post', '/api/devices/:id/command', 'Send a command (the yoto/{id}/commands JSON)', { body: 'broker-command' }),
  dev('get', '/api/devices/:id/events', 'The player\'s events, newest first, paged', { query: ['type', 'since', 'until', 'before', 'limit'] }),
  dev('get', '/api/devices/:id/status', 'Status and playback as on yoto/{id}/status and yoto/{id}/playback'),
  { method: 'get', path: '/api/analytics/overview', tag: 'analytics', summary: 'Totals over a range', query: ['from', 'to'] },
  { method: 'get', path: '/api/analytics/devices', tag: 'analytics', summary: 'Totals per player', query: ['from', 'to'] },
  { method: 'get', path: '/api/analytics/content', tag: 'analytics', summary: 'Popularity by card', query: ['from', 'to'] },
  { method: 'get', path: '/api/analytics/playback', tag: 'analytics', summary: 'Listening sessions', query: ['from', 'to', 'deviceId', 'limit'] },
  { method: 'get', path: '/api/system/health', tag: 'system', summary: 'Health of every component', auth: false },
  { method: 'get', path: '/api/system/config', tag: 'system', summary: 'The hub settings, without secrets' },
  { method: 'put', path: '/api/system/config', tag: 'system', summary: 'Save the hub settings (applied on restart)', body: 'hub-config', admin: true },
  { method: 'get', path: '/api/openapi.json', tag: 'system', summary: 'This document', auth: false },
  { method: 'get', path: '/metrics', tag: 'system', summary: 'Prometheus metrics', auth: false, response: { description: 'Prometheus text format 0.0.4', contentType: 'text/plain' } },
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
