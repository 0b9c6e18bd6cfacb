import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { buildOpenApi } from '../../server/openapi';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, createResources, idFor, inviteMember, onboardAdmin, upload, validBody, type Resources, type SignIn } from '../hub/api-world';

type Paths = Record<string, Record<string, { security?: unknown[] }>>;

/** Routes anyone may call (no token); logout takes the refresh token in its body, not a bearer token. */
const PUBLIC = ['/api/auth/status', '/api/auth/login', '/api/auth/logout', '/api/auth/onboarding', '/api/auth/refresh', '/api/auth/register', '/api/system/health', '/api/openapi.json'];

/** Routes only an admin may call: a member gets 403. */
const ADMIN_ONLY: Array<[string, string]> = [['get', '/api/auth/users'], ['patch', '/api/auth/users/{id}'], ['post', '/api/auth/invitations'], ['put', '/api/system/config']];

describe('Authorization matrix over every route and role', function () {
  let hub: Hub | undefined;
  let admin: SignIn;
  let a: SignIn;
  let b: SignIn;
  let mine: Resources;
  const secrets: string[] = [];
  const paths = buildOpenApi()['paths'] as unknown as Paths;
  // The family library's cards belong to the family, not to a member: every signed-in user reads them
  // (test/settings/settings-surfaces.test.ts), so they are no ownership case.
  const routes = Object.entries(paths)
    .filter(([path]) => path.includes('{') && path.startsWith('/api/') && !path.startsWith('/api/cards/'))
    .flatMap(([path, item]) => Object.keys(item).map((method) => ({ method, path })))
    // Destructive calls last, and releasing the player after everything else done to it (its alarms).
    .sort((x, y) => rank(x) - rank(y));
  function rank(route: { method: string; path: string }): number {
    if (route.method !== 'delete') return 0;
    return route.path === '/api/devices/{id}' ? 2 : 1;
  }

  before(async () => {
    hub = await startTestHub();
    admin = await onboardAdmin(hub);
    a = await inviteMember(hub, admin, 'member-a@example.org', 'Member A');
    b = await inviteMember(hub, admin, 'member-b@example.org', 'Member B');
    mine = await createResources(hub, a.accessToken, 'A-secret', true);
    secrets.push(mine.fileId, mine.scriptId, mine.storyId, mine.streamId, mine.tokenId, mine.apiToken, a.user.id, 'member-a@example.org', 'A-secret');
    // Alarms for the alarm routes ({alarmId} 0): one to read and change, and one for each of A's and the admin's delete.
    for (const time of ['06:00', '06:30', '07:00']) {
      const alarm = await call(hub, 'POST', `/api/devices/${mine.deviceId}/alarms`, a.accessToken, { time });
      expect(alarm.status, alarm.text).to.equal(201);
    }
  });
  after(async () => stopTestHub(hub));

  it('documents the routes this matrix walks', () => {
    expect(routes.length).to.be.greaterThan(30);
  });

  it('answers 401 without a token on every route but the public ones', async () => {
    for (const [path, item] of Object.entries(paths)) {
      if (!path.startsWith('/api/')) continue;
      for (const method of Object.keys(item)) {
        const url = path.replace('{alarmId}', '0').replace(/\{[^}]+\}/g, idFor(path, mine, a.user.id) ?? 'x');
        const answer = await call(hub!, method.toUpperCase(), url, undefined, method === 'get' || method === 'delete' ? undefined : {});
        if (PUBLIC.includes(path)) expect(answer.status, `${method} ${path}`).to.not.equal(401);
        else expect(answer.status, `${method} ${url} -> ${answer.text.slice(0, 200)}`).to.equal(401);
      }
    }
  });

  it('keeps member A\'s resources from member B, and serves them to A and to the admin', async () => {
    const problems: string[] = [];
    for (const { method, path } of routes) {
      const admins = path.startsWith('/api/auth/users');
      const id = idFor(path, mine, a.user.id)!;
      const query = path.endsWith('/flow') ? `?deviceId=${mine.deviceId}` : '';
      const url = path.replace('{id}', id).replace('{alarmId}', '0') + query;
      const label = `${method.toUpperCase()} ${path}`;

      // Member B: 404 (or 403), and nothing of A's in the answer.
      const asB = await call(hub!, method.toUpperCase(), url, b.accessToken, validBody(method, path, mine, 'B'));
      if (asB.status >= 500) problems.push(`${label} as B -> ${asB.status} ${asB.text.slice(0, 200)}`);
      expect([403, 404], `${label} as B -> ${asB.text.slice(0, 300)}`).to.include(asB.status);
      for (const secret of secrets.filter((s) => s !== id)) {
        expect(asB.text, `${label} as B leaks "${secret}"`).to.not.include(secret);
      }

      // Member A and the admin: a DELETE acts on a fresh copy each, so both can succeed.
      for (const [who, user] of [['A', a], ['admin', admin]] as const) {
        let target = mine;
        if (method === 'delete' && !admins) target = await createResources(hub!, a.accessToken, `A-${who}-copy`, false);
        // A file some script plays cannot be deleted (409): delete a file nothing uses.
        if (method === 'delete' && path === '/api/audio/{id}') target = { ...target, fileId: (await upload(hub!, a.accessToken, `A-${who}-loose.mp3`)).id };
        if (method === 'delete' && path === '/api/devices/{id}') {
          // The one player: A releases it last (as the admin), after A's own delete has been checked with B above.
          if (who === 'A') target = mine;
        }
        let targetId = idFor(path, target, a.user.id)!;
        if (admins && method === 'delete') targetId = (await inviteMember(hub!, admin, `throwaway-${who}@example.org`, 'Throwaway')).user.id;
        const targetUrl = path.replace('{id}', targetId).replace('{alarmId}', '0') + query;
        if (method === 'delete' && path === '/api/devices/{id}' && who === 'admin') {
          // A has already released the player; the admin claims it for A's sake and deletes that.
          const claim = await call(hub!, 'POST', '/api/devices', admin.accessToken, { deviceId: mine.deviceId });
          expect(claim.status, claim.text).to.be.within(200, 299);
        }
        const answer = await call(hub!, method.toUpperCase(), targetUrl, user.accessToken, validBody(method, path, target, who));
        if (answer.status >= 500) problems.push(`${label} as ${who} -> ${answer.status} ${answer.text.slice(0, 200)}`);
        if (admins && who === 'A') {
          expect(answer.status, `${label} as A (admins only)`).to.equal(403);
          continue;
        }
        if (path === '/api/audio/{id}/cover' && answer.status === 404) {
          // Start.mp3 carries no cover art: the file is found, its cover is not.
          expect(answer.text, `${label} as ${who}`).to.match(/cover/);
          continue;
        }
        expect(answer.status, `${label} as ${who} -> ${answer.text.slice(0, 300)}`).to.be.within(200, 299);
      }
    }
    expect(problems, 'answers 5xx').to.deep.equal([]);
  });

  it('answers every route for every role (anonymous, member, other member, admin) without a 5xx or a leak', async () => {
    const roles: Array<[string, string | undefined]> = [['anonymous', undefined], ['A', a.accessToken], ['B', b.accessToken], ['admin', admin.accessToken]];
    const counts: Record<string, number> = {};
    const problems: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      if (!path.startsWith('/api/')) continue;
      for (const method of Object.keys(item)) {
        // Deletes and sign-outs end what the other cases use; the id-route test above covers their rights.
        if (method === 'delete' || path === '/api/auth/logout') continue;
        const url = path.replace(/\{[^}]+\}/g, idFor(path, mine, a.user.id) ?? 'x') + (path.endsWith('/flow') ? `?deviceId=${mine.deviceId}` : '');
        for (const [role, token] of roles) {
          const body = method === 'get' ? undefined : validBody(method, path, mine, `matrix-${role}`) ?? {};
          const answer = await call(hub!, method.toUpperCase(), url, token, body);
          const key = `${answer.status >= 500 ? '5xx' : answer.status >= 400 ? String(answer.status) : '2xx/3xx'}`;
          counts[key] = (counts[key] ?? 0) + 1;
          const label = `${method.toUpperCase()} ${path} as ${role} -> ${answer.status}`;
          if (answer.status >= 500) problems.push(`${label} ${answer.text.slice(0, 200)}`);
          if (role === 'anonymous' && !PUBLIC.includes(path) && answer.status !== 401) problems.push(`${label}: not 401`);
          if (role === 'B' || role === 'anonymous') {
            // The id in the URL is the caller's own words: echoing it back is no leak.
            for (const secret of secrets) if (!url.includes(secret) && answer.text.includes(secret)) problems.push(`${label} leaks "${secret}"`);
          }
          if (ADMIN_ONLY.some(([m, p]) => m === method && p === path) && (role === 'A' || role === 'B') && answer.status !== 403) problems.push(`${label}: admin-only route not 403`);
        }
      }
    }
    const total = Object.values(counts).reduce((x, y) => x + y, 0);
    console.log(`      route x role matrix: ${total} requests, by status ${JSON.stringify(counts)}`);
    expect(problems).to.deep.equal([]);
    expect(total).to.be.greaterThan(150);
  });

  it('lists none of A\'s items to B', async () => {
    for (const list of ['/api/audio', '/api/scripts', '/api/stories', '/api/devices', '/api/streams/smart']) {
      const answer = await call(hub!, 'GET', list, b.accessToken);
      expect(answer.status, list).to.equal(200);
      for (const secret of secrets) expect(answer.text, `${list} as B leaks "${secret}"`).to.not.include(secret);
      const asA = await call(hub!, 'GET', list, a.accessToken);
      expect(asA.status, list).to.equal(200);
    }
  });
});
