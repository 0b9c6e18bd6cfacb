import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { buildOpenApi } from '../../server/openapi';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboardAdmin } from '../hub/api-world';

type Operation = { requestBody?: { content: Record<string, unknown> } };
type Paths = Record<string, Record<string, Operation>>;

/**
 * Every route the routers mount (server/accounts/accounts.ts, library/routes.ts,
 * scripts/index.ts, streams/smart-routes.ts, streams/index.ts, stories/routes.ts,
 * devices/devices-api.ts, analytics/analytics-api.ts, system/*), with the
 * prefix server/hub.ts mounts it under. Written from the code.
 */
const MOUNTED: readonly string[] = [
  'get /api/auth/status', 'post /api/auth/onboarding', 'post /api/auth/login', 'post /api/auth/refresh', 'post /api/auth/logout',
  'get /api/auth/me', 'post /api/auth/invitations', 'post /api/auth/register', 'get /api/auth/users', 'patch /api/auth/users/{id}', 'delete /api/auth/users/{id}',
  'post /api/audio', 'get /api/audio', 'get /api/audio/{id}', 'patch /api/audio/{id}', 'delete /api/audio/{id}',
  'get /api/audio/{id}/download', 'get /api/audio/{id}/stream', 'get /api/audio/{id}/cover',
  'get /api/scripts', 'post /api/scripts', 'get /api/scripts/{id}', 'put /api/scripts/{id}', 'patch /api/scripts/{id}', 'delete /api/scripts/{id}', 'post /api/scripts/{id}/deploy',
  'get /api/icons', 'post /api/icons',
  'get /api/streams/smart', 'post /api/streams/smart', 'get /api/streams/smart/{id}', 'put /api/streams/smart/{id}', 'delete /api/streams/smart/{id}',
  'put /api/streams/smart/{id}/value', 'delete /api/streams/smart/{id}/value',
  'get /api/stories', 'post /api/stories', 'post /api/stories/import/twee', 'get /api/stories/{id}', 'get /api/stories/{id}/findings', 'put /api/stories/{id}',
  'delete /api/stories/{id}', 'post /api/stories/{id}/test', 'post /api/stories/{id}/deploy', 'get /api/stories/{id}/twee', 'get /api/stories/{id}/flow',
  'get /api/devices', 'post /api/devices', 'get /api/devices/{id}', 'patch /api/devices/{id}', 'delete /api/devices/{id}',
  'post /api/devices/{id}/command', 'get /api/devices/{id}/events', 'get /api/devices/{id}/status',
  'get /api/analytics/overview', 'get /api/analytics/devices', 'get /api/analytics/content', 'get /api/analytics/playback',
  'get /api/system/health', 'get /api/system/config', 'put /api/system/config', 'get /api/openapi.json',
  'get /metrics', 'get /stream/audio/{fileId}', 'get /stream/smart/{streamId}',
];

describe('OpenAPI document matches the mounted routers', function () {
  const paths = buildOpenApi()['paths'] as unknown as Paths;
  const documented = Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
  let hub: Hub | undefined;
  after(async () => stopTestHub(hub));

  it('documents every route a router mounts', () => {
    const missing = MOUNTED.filter((route) => !documented.includes(route));
    expect(missing, 'mounted but not in /api/openapi.json').to.deep.equal([]);
  });

  it('serves every documented route on a real hub (none answers "API route not found")', async () => {
    hub = await startTestHub();
    const { accessToken } = await onboardAdmin(hub);
    // The served document is the one checked here.
    const served = (await (await fetch(`${hub.url}/api/openapi.json`)).json()) as { paths: Paths };
    expect(Object.keys(served.paths).sort()).to.deep.equal(Object.keys(paths).sort());

    const unknownRoutes: string[] = [];
    for (const route of documented) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace(/\{[^}]+\}/g, 'no-such-thing');
      const operation = paths[path]![method]!;
      const json = operation.requestBody?.content['application/json'] !== undefined;
      const answer = await fetch(`${hub.url}${url}`, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${accessToken}`, ...(json ? { 'content-type': 'application/json' } : {}) },
        ...(json ? { body: '{}' } : {}),
      });
      const text = await answer.text();
      expect(answer.status, `${route} -> ${text.slice(0, 200)}`).to.be.below(500);
      if (answer.status === 404 && text.includes('"not_found"') && text.includes('API route not found')) unknownRoutes.push(route);
    }
    expect(unknownRoutes, 'documented routes the hub does not serve').to.deep.equal([]);
    // And an undocumented path does answer that way (so the check above can fail).
    const bogus = await fetch(`${hub.url}/api/no-such-router`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(bogus.status).to.equal(404);
    expect(((await bogus.json()) as { error: { code: string; message: string } }).error).to.include({ code: 'not_found', message: 'API route not found' });
  });
});
