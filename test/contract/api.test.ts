import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { packageRoot } from '../../server/paths';
import { ADMIN, call, KIDS_BEDROOM, LIVING_ROOM, player, signIn } from './client';
import { useProduct, type Product } from './product';

type Json = Record<string, unknown>;
const TWEE = path.join(packageRoot, '..', 'shared', 'fixtures', 'twine-spyshort', 'spyshort.twee');
const MP3 = path.join(packageRoot, 'demo-content', 'audio', 'Start.mp3');

/** A refusal in the README's shape: 4xx with {error: {code, message, details?}}. */
function expectRefusal(answer: { status: number; body: unknown }, status: number): void {
  expect(answer.status, JSON.stringify(answer.body)).to.equal(status);
  const error = (answer.body as { error?: Json }).error;
  expect(error, 'an error body').to.be.an('object');
  expect(error).to.include.keys('code', 'message');
}

/** Every REST route family, the WebSocket, the panel and the editor's hub endpoints of a running npm start. */
describe('contract: the hub API, WebSocket and panel of a running npm start', function () {
  this.timeout(60_000);
  const running = useProduct();
  let product: Product;
  let api: string;
  let token: string;

  before(() => {
    product = running.product();
    api = `${product.hubUrl}/api`;
    token = running.token();
  });

  it('health, panel, security headers, request ids, OpenAPI and metrics', async () => {
    const anonymous = await call<{ status: string; components?: Json }>(`${api}/system/health`);
    expect(anonymous.body.status).to.equal('ok');
    expect(anonymous.body.components, 'anonymous: up or down only').to.equal(undefined);
    const health = await call<{ status: string; components: Json }>(`${api}/system/health`, { token });
    expect(health.body.components).to.include.keys('store', 'broker', 'cloud', 'http');
    const panel = await call(`${product.hubUrl}/`);
    expect(panel.status).to.equal(200);
    expect(String(panel.body)).to.match(/<html/i);
    expect(panel.headers.get('content-security-policy')).to.match(/frame-ancestors/);
    expect(panel.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(panel.headers.get('access-control-allow-origin')).to.equal(null);
    const echoed = await call(`${api}/system/health`, { headers: { 'x-request-id': 'contract-1' } });
    expect(echoed.headers.get('x-request-id')).to.equal('contract-1');
    const openapi = await call<{ openapi: string; paths: Json }>(`${api}/openapi.json`);
    expect(openapi.body.openapi).to.match(/^3\.1/);
    for (const family of ['/api/auth/login', '/api/audio', '/api/scripts', '/api/stories', '/api/devices', '/api/analytics/overview', '/api/streams/smart', '/api/icons', '/api/system/config']) {
      expect(Object.keys(openapi.body.paths).some((p) => p.startsWith(family)), `OpenAPI lists ${family}`).to.equal(true);
    }
    const metrics = await call(`${product.hubUrl}/metrics`, { token });
    expect(String(metrics.body)).to.match(/http_request/);
    expectRefusal(await call(`${api}/devices`), 401);
  });

  it('accounts: status, sign-in, refresh, me, invitations, register, users, logout', async () => {
    expect((await call<{ onboarding: boolean }>(`${api}/auth/status`)).body.onboarding, 'YOTO_ADMIN_EMAIL made the admin').to.equal(false);
    expectRefusal(await call(`${api}/auth/onboarding`, { body: { email: 'x@y.z', name: 'X', password: 'long enough password' } }), 409);
    const login = await call<{ accessToken: string; refreshToken: string }>(`${api}/auth/login`, { body: ADMIN });
    const refreshed = await call<{ accessToken: string; refreshToken: string }>(`${api}/auth/refresh`, { body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).to.equal(200);
    expectRefusal(await call(`${api}/auth/refresh`, { body: { refreshToken: login.body.refreshToken } }), 401);
    expect((await call<{ email: string }>(`${api}/auth/me`, { token })).body.email).to.equal(ADMIN.email);
    const invitation = await call<{ invitationToken: string }>(`${api}/auth/invitations`, { token, body: { email: 'member@contract.test', role: 'member' } });
    expect(invitation.status).to.equal(201);
    const registered = await call<{ user: { id: string } }>(`${api}/auth/register`, { body: { invitationToken: invitation.body.invitationToken, name: 'Member', password: 'member password 123' } });
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    const users = await call<{ users: Array<{ id: string; email: string }> }>(`${api}/auth/users`, { token });
    const member = users.body.users.find((u) => u.email === 'member@contract.test')!;
    expect((await call(`${api}/auth/users/${member.id}`, { token, method: 'PATCH', body: { name: 'Member One' } })).status).to.equal(200);
    const memberToken = await signIn(product.hubUrl, { email: 'member@contract.test', password: 'member password 123' });
    expectRefusal(await call(`${api}/auth/users`, { token: memberToken }), 403);
    const audio = await call<{ total: number }>(`${api}/audio`, { token: memberToken });
    expect(audio.body.total, "a member does not see others' files").to.equal(0);
    expect((await call(`${api}/auth/logout`, { body: { refreshToken: refreshed.body.refreshToken } })).status).to.equal(204);
    expect((await call(`${api}/auth/users/${member.id}`, { token, method: 'DELETE' })).status).to.equal(204);
  });

  let fileId: string;

  it('audio library: upload, list, search, rename, download, Range stream, HEAD, cover, delete', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(MP3)]), 'whatever.bin');
    const upload = await call<{ id: string; format: string; durationSeconds: number }>(`${api}/audio`, { token, body: form });
    expect(upload.status, JSON.stringify(upload.body)).to.equal(201);
    expect(upload.body.format, 'detected from the content').to.equal('mp3');
    fileId = upload.body.id;
    const list = await call<{ items: Array<{ id: string }> }>(`${api}/audio?q=whatever&sort=title&page=1&pageSize=5`, { token });
    expect(list.body.items.map((f) => f.id)).to.include(fileId);
    expect((await call<{ title: string }>(`${api}/audio/${fileId}`, { token, method: 'PATCH', body: { title: 'Contract file' } })).body.title).to.equal('Contract file');
    const download = await fetch(`${api}/audio/${fileId}/download`, { headers: { authorization: `Bearer ${token}` } });
    expect(Buffer.from(await download.arrayBuffer()).equals(fs.readFileSync(MP3))).to.equal(true);
    const ranged = await fetch(`${api}/audio/${fileId}/stream`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-99' } });
    expect(ranged.status).to.equal(206);
    expect((await ranged.arrayBuffer()).byteLength).to.equal(100);
    expect(ranged.headers.get('etag')).to.be.a('string');
    const head = await fetch(`${api}/audio/${fileId}/stream`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
    expect(head.status).to.equal(200);
    expect((await call(`${api}/audio/${fileId}/cover`, { token })).status).to.be.oneOf([200, 404]);
    expectRefusal(await call(`${api}/audio/not-a-file`, { token }), 404);
  });

  it('scripts and icons: create, read, change, deploy as a streaming card the player plays, delete', async () => {
    const created = await call<{ id: string }>(`${api}/scripts`, { token, body: { name: 'Contract script', type: 'simple', definition: { audioFileId: fileId } } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const id = created.body.id;
    expect((await call(`${api}/scripts/${id}`, { token, method: 'PATCH', body: { name: 'Contract script 2' } })).status).to.equal(200);
    const deployed = await call<{ cardId: string }>(`${api}/scripts/${id}/deploy`, { token, body: { deviceId: KIDS_BEDROOM, volume: 40 } });
    expect(deployed.status, JSON.stringify(deployed.body)).to.equal(200);
    expect((await player(product.virtualCloudUrl, KIDS_BEDROOM)).cardId).to.equal(deployed.body.cardId);
    // The player fetched its signed stream URL: the stream request is counted.
    expect(String((await call(`${product.hubUrl}/metrics`, { token })).body)).to.match(/route="\/stream[^"]*"/);
    expectRefusal(await call(`${api}/scripts/${id}/deploy`, { token, body: { deviceId: KIDS_BEDROOM, volume: 400 } }), 400);
    const icons = await call<unknown>(`${api}/icons`, { token });
    expect(icons.status).to.equal(200);
    expectRefusal(await call(`${api}/audio/${fileId}`, { token, method: 'DELETE' }), 409);
    expect((await call(`${api}/scripts/${id}`, { token, method: 'DELETE' })).status).to.equal(204);
  });

  it('smart streams: define, list, set the value from a flow, delete', async () => {
    const defined = await call<{ id: string }>(`${api}/streams/smart`, { token, body: { name: 'Contract stream', fallbackFileId: fileId } });
    expect(defined.status, JSON.stringify(defined.body)).to.equal(201);
    expect((await call<unknown[]>(`${api}/streams/smart`, { token })).status).to.equal(200);
    expect((await call(`${api}/streams/smart/${defined.body.id}/value`, { token, method: 'PUT', body: { fileId } })).status).to.equal(200);
    expectRefusal(await call(`${api}/streams/smart/${defined.body.id}/value`, { token, method: 'PUT', body: { fileId: 7 } }), 400);
    expect((await call(`${api}/streams/smart/${defined.body.id}`, { token, method: 'DELETE' })).status).to.be.oneOf([200, 204]);
  });

  it('stories: import Twee, findings, test, Twee out, flow out, deploy to a player, delete', async () => {
    const imported = await call<{ story: { id: string } } & { id?: string }>(`${api}/stories/import/twee`, { token, body: fs.readFileSync(TWEE, 'utf8'), headers: { 'content-type': 'text/plain' } });
    expect(imported.status, JSON.stringify(imported.body)).to.equal(201);
    const storyId = imported.body.story?.id ?? imported.body.id!;
    expect((await call(`${api}/stories/${storyId}/findings`, { token })).status).to.equal(200);
    expect((await call(`${api}/stories/${storyId}/twee`, { token })).body).to.match(/:: /);
    const demo = 'demo-spy-mission';
    expect((await call<{ passed?: boolean }>(`${api}/stories/${demo}/test`, { token, method: 'POST' })).status).to.equal(200);
    const flow = await call<Array<{ type: string }>>(`${api}/stories/${demo}/flow?deviceId=${KIDS_BEDROOM}`, { token });
    expect(flow.body.map((n) => n.type)).to.include.members(['tab', 'yoto-play-script', 'yoto-cyoa-branch']);
    const deployed = await call<{ deployed: boolean; result: { cardId: string } }>(`${api}/stories/${demo}/deploy`, { token, body: { deviceId: LIVING_ROOM } });
    expect(deployed.status, JSON.stringify(deployed.body)).to.equal(200);
    expect((await player(product.virtualCloudUrl, LIVING_ROOM)).cardId).to.equal(deployed.body.result.cardId);
    expect((await call(`${api}/stories/${storyId}`, { token, method: 'DELETE' })).status).to.equal(204);
    // Text with no passages imports as an empty story, which the validator keeps off the players.
    const empty = await call<{ story: { id: string } }>(`${api}/stories/import/twee`, { token, body: 'not twee at all', headers: { 'content-type': 'text/plain' } });
    expectRefusal(await call(`${api}/stories/${empty.body.story.id}/deploy`, { token, body: { deviceId: LIVING_ROOM } }), 422);
  });

  it('devices: list, claim, rename, command (409/504 kept for refusals), events, status, unregister', async () => {
    const list = await call<{ items?: Array<{ deviceId: string }>; devices?: Array<{ deviceId: string }> }>(`${api}/devices`, { token });
    expect((list.body.items ?? list.body.devices ?? []).map((d) => d.deviceId)).to.include.members([LIVING_ROOM, KIDS_BEDROOM]);
    expect((await call(`${api}/devices`, { token, body: { deviceId: LIVING_ROOM } })).status).to.be.oneOf([200, 201]);
    expect((await call(`${api}/devices/${LIVING_ROOM}`, { token, method: 'PATCH', body: { name: 'Living Room' } })).status).to.equal(200);
    const paused = await call(`${api}/devices/${LIVING_ROOM}/command`, { token, body: { command: 'pause' } });
    expect(paused.status, JSON.stringify(paused.body)).to.equal(200);
    expectRefusal(await call(`${api}/devices/${LIVING_ROOM}/command`, { token, body: { command: 'dance' } }), 400);
    expectRefusal(await call(`${api}/devices/${KIDS_BEDROOM}/command`, { token, body: { command: 'nightlight', color: '#ffffff' } }), 409);
    const events = await call<{ items: unknown[] }>(`${api}/devices/${LIVING_ROOM}/events?page=1&pageSize=5`, { token });
    expect(events.status).to.equal(200);
    expect((await call(`${api}/devices/${LIVING_ROOM}/status`, { token })).status).to.equal(200);
    expect((await call(`${api}/devices/${LIVING_ROOM}`, { token, method: 'DELETE' })).status).to.equal(204);
  });

  it('{"command":"play","script_id"} on POST /api/devices/:id/command plays the script\'s card on the player', async () => {
    const answer = await call(`${api}/devices/${KIDS_BEDROOM}/command`, { token, body: { command: 'play', script_id: 'demo-spy-riddle' } });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const script = await call<{ cardId: string }>(`${api}/scripts/demo-spy-riddle`, { token });
    expect((await player(product.virtualCloudUrl, KIDS_BEDROOM)).cardId).to.equal(script.body.cardId);
  });

  it('analytics: overview, devices, content and playback over from/to', async () => {
    const today = new Date().toISOString().slice(0, 10);
    for (const view of ['overview', 'devices', 'content', 'playback']) {
      expect((await call(`${api}/analytics/${view}?from=${today}&to=${today}`, { token })).status, view).to.equal(200);
    }
    expectRefusal(await call(`${api}/analytics/overview?from=yesterday`, { token }), 400);
  });

  it('system config: read without secrets, a bad change refused with the field', async () => {
    const config = await call<{ config: Json }>(`${api}/system/config`, { token });
    expect(config.status).to.equal(200);
    expect(JSON.stringify(config.body)).to.not.match(/password/i);
    const bad = await call<{ error: { details: Array<{ path: string }> } }>(`${api}/system/config`, { token, method: 'PUT', body: { ...config.body.config, logLevel: 'loud' } });
    expectRefusal(bad, 400);
    expect(bad.body.error.details.map((d) => d.path)).to.include('/logLevel');
  });

  it('the WebSocket: subscribe to device.*, receive status, playback and events, ping gets pong', async () => {
    const socket = new WebSocket(`${product.hubUrl.replace(/^http/, 'ws')}/ws`, ['bearer', token]);
    const received: Json[] = [];
    const waiters: Array<() => void> = [];
    socket.on('message', (data: WebSocket.RawData) => {
      received.push(JSON.parse(String(data)) as Json);
      for (const wake of waiters.splice(0)) wake();
    });
    const until = async (check: (m: Json) => boolean): Promise<Json> => {
      for (;;) {
        const found = received.find(check);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    try {
      socket.send(JSON.stringify({ type: 'subscribe', topic: 'device.*' }));
      socket.send(JSON.stringify({ type: 'ping' }));
      await until((m) => m['type'] === 'pong');
      expect((await call(`${api}/devices/${KIDS_BEDROOM}/command`, { token, body: { command: 'volume', volume: 60 } })).status).to.equal(200);
      await until((m) => m['type'] === 'device.event');
      await until((m) => m['type'] === 'device.playback');
      await until((m) => m['type'] === 'device.status');
    } finally {
      socket.close();
    }
  });

  it('the Node-RED editor lists the hub\'s players and scripts for the nodes\' edit dialogs', async () => {
    const devices = await call<{ devices: Array<{ name: string }>; hubUrl: string }>(`${product.nodeRedUrl}/yoto-hub/yoto.demo.hub/devices`);
    expect(devices.body.devices.map((d) => d.name)).to.deep.equal(['Kids Bedroom', 'Living Room', 'Playroom']);
    expect(devices.body.hubUrl).to.equal(product.hubUrl);
    const scripts = await call<{ scripts: Array<{ id: string }> }>(`${product.nodeRedUrl}/yoto-hub/yoto.demo.hub/scripts`);
    expect(scripts.body.scripts.map((s) => s.id)).to.include('demo-bedtime');
  });
});
