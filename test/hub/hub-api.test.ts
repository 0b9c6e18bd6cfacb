import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import type { Hub } from '../../server/hub';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { fixturesDir } from '../helpers/fixtures';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { refusedUpgrade } from '../realtime/realtime-rig';

const KIDS = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;
const START_MP3 = path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3');

interface SignIn {
  accessToken: string;
  user: { id: string; role: string };
}

/**
 * The hub's API as the panel and other programs use it, through the real hub
 * (accounts, audio library, WebSocket gateway, virtual cloud).
 */
describe('Hub API: accounts, audio library and live updates', function () {
  let hub: Hub | undefined;
  const sockets: WebSocket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await stopTestHub(hub);
    hub = undefined;
  });

  async function call(method: string, url: string, token?: string, body?: unknown): Promise<Response> {
    return fetch(`${hub!.url}${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  async function onboardAdminAndMember(): Promise<{ admin: SignIn; member: SignIn }> {
    const status = (await (await call('GET', '/api/auth/status')).json()) as { onboarding: boolean };
    expect(status.onboarding, 'a new hub asks for its first admin').to.equal(true);
    const onboarding = await call('POST', '/api/auth/onboarding', undefined, { email: 'parent@example.org', name: 'Parent', password: 'correct horse battery' });
    expect(onboarding.status).to.equal(201);
    const admin = (await onboarding.json()) as SignIn;
    const invitation = (await (await call('POST', '/api/auth/invitations', admin.accessToken, { email: 'aunt@example.org', role: 'member' })).json()) as { invitationToken: string };
    const registered = await call('POST', '/api/auth/register', undefined, { invitationToken: invitation.invitationToken, name: 'Aunt', password: 'another long secret' });
    expect(registered.status).to.equal(201);
    return { admin, member: (await registered.json()) as SignIn };
  }

  it('signs in, uploads Start.mp3 with its duration, streams a byte range of it, and keeps it from another user', async () => {
    hub = await startTestHub();
    const { admin, member } = await onboardAdminAndMember();

    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(START_MP3)]), 'Start.mp3');
    const uploaded = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${admin.accessToken}` }, body: form });
    expect(uploaded.status).to.equal(201);
    const file = (await uploaded.json()) as { id: string; durationSeconds: number; format: string };
    expect(file.format).to.equal('mp3');
    // The truth, by counting MPEG frames (test/library): 3.72 s.
    expect(file.durationSeconds).to.be.closeTo(3.72, 3.72 * 0.05);

    const range = await fetch(`${hub.url}/api/audio/${file.id}/stream`, { headers: { authorization: `Bearer ${admin.accessToken}`, range: 'bytes=100-199' } });
    expect(range.status).to.equal(206);
    expect(range.headers.get('content-range')).to.equal(`bytes 100-199/${fs.statSync(START_MP3).size}`);
    expect(Buffer.from(await range.arrayBuffer())).to.deep.equal(fs.readFileSync(START_MP3).subarray(100, 200));

    const list = (await (await call('GET', '/api/audio', member.accessToken)).json()) as { items: unknown[]; total: number };
    expect(list.total, 'the member sees none of the admin\'s files').to.equal(0);
    expect((await call('GET', `/api/audio/${file.id}`, member.accessToken)).status).to.equal(404);
    expect((await call('GET', `/api/audio/${file.id}/stream`, member.accessToken)).status).to.equal(404);
    expect((await call('GET', '/api/audio')).status, 'no token, no library').to.equal(401);
  });

  it('tells a WebSocket client subscribed to device.* that a virtual player started playing', async () => {
    hub = await startTestHub();
    const { admin } = await onboardAdminAndMember();
    const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/ws`, ['bearer', admin.accessToken]);
    sockets.push(socket);
    const messages: Array<Record<string, unknown>> = [];
    const waiters: Array<{ match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      messages.push(message);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(message)) waiter.resolve(message);
        else waiters.push(waiter);
      }
    });
    const next = (match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
      new Promise((resolve) => {
        const seen = messages.find(match);
        if (seen) resolve(seen);
        else waiters.push({ match, resolve });
      });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'subscribe', topic: 'device.*' }));
    await next((m) => m['type'] === 'subscribed');

    await hub.cloud.execute(KIDS, { type: 'play', cardId: 'demo1' });
    const playing = await next((m) => m['type'] === 'device.playback' && m['deviceId'] === KIDS && (m['data'] as { state?: string } | undefined)?.state === 'playing');
    expect(playing['data']).to.include({ card_id: 'demo1' });
  });

  it('deploys a playlist script to a virtual player, which fetches the hub\'s signed stream URLs and plays', async () => {
    hub = await startTestHub();
    const { admin } = await onboardAdminAndMember();
    const ids: string[] = [];
    for (const name of ['Start', 'SolveRiddle']) {
      const form = new FormData();
      form.append('file', new Blob([fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', 'audio', `${name}.mp3`))]), `${name}.mp3`);
      const uploaded = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${admin.accessToken}` }, body: form });
      ids.push(((await uploaded.json()) as { id: string }).id);
    }
    const created = await call('POST', '/api/scripts', admin.accessToken, {
      name: 'Bedtime playlist',
      type: 'playlist',
      definition: { tracks: ids.map((audioFileId) => ({ audioFileId })) },
    });
    expect(created.status).to.equal(201);
    const script = (await created.json()) as { id: string };
    const fetched = new Promise<{ status: number; deviceId?: string; fileId?: string }>((resolve) => hub!.streams.events.once('served', resolve));
    const playing = new Promise<void>((resolve) => {
      const onState = (state: { deviceId: string; playback: { state?: string; cardId?: string } }): void => {
        if (state.deviceId !== KIDS || state.playback.state !== 'playing' || state.playback.cardId === 'demo1') return;
        hub!.devices.bus.off(onState);
        resolve();
      };
      hub!.devices.bus.on(onState, 'state', onState);
    });

    const deployed = await call('POST', `/api/scripts/${script.id}/deploy`, admin.accessToken, { deviceId: KIDS });
    expect(deployed.status).to.equal(200);
    const served = await fetched;
    expect(served).to.include({ status: 200, deviceId: KIDS, fileId: ids[0] });
    await playing;
    const player = hub.cloud.virtualCloud!.fleet.player(KIDS)!.snapshot();
    expect(player.playbackStatus).to.equal('playing');
    expect(player.lastStreamError).to.equal(undefined);
  });

  it('refuses a WebSocket without a valid token at the upgrade, with HTTP 401', async () => {
    hub = await startTestHub();
    const answer = await refusedUpgrade(`${hub.url.replace('http', 'ws')}/ws`, 'not-a-token');
    expect(answer.status).to.equal(401);
    expect(hub.realtime.stats().clients).to.equal(0);
  });

  it('sends security headers and no CORS headers', async () => {
    hub = await startTestHub();
    const response = await fetch(`${hub.url}/api/system/health`, { headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(response.headers.get('content-security-policy')).to.include("default-src 'self'");
    expect(response.headers.get('access-control-allow-origin')).to.equal(null);
  });
});
