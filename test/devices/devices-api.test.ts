import { expect } from 'chai';
import type { DeviceState } from '../../server/core/device-state';
import type { DeviceRegistry } from '../../server/core/device-registry';
import { ADMIN, ALICE, BOB, KIDS, LIVING, startRig, type Rig } from './rig';

function waitForState(registry: DeviceRegistry, deviceId: string, accept: (state: DeviceState) => boolean): Promise<DeviceState> {
  const now = registry.get(deviceId);
  if (now && accept(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const onState = (state: DeviceState): void => {
      if (state.deviceId !== deviceId || !accept(state)) return;
      registry.bus.off(onState);
      resolve(state);
    };
    registry.bus.on(onState, 'state', onState);
  });
}

type Body = Record<string, unknown>;

describe('devices API', function () {
  let rig: Rig;

  before(async () => {
    rig = await startRig();
    const registered = await rig.call('POST', '/api/devices', ALICE, { deviceId: LIVING, room: 'Living room' });
    expect(registered.status, registered.text).to.equal(201);
  });
  after(async () => rig?.stop());

  it('lets the first registration claim a player, and refuses a second owner', async () => {
    const again = await rig.call('POST', '/api/devices', ALICE, { deviceId: LIVING });
    expect(again.status).to.equal(200);
    const other = await rig.call('POST', '/api/devices', BOB, { deviceId: LIVING });
    expect(other.status).to.equal(409);
    const unknown = await rig.call('POST', '/api/devices', BOB, { deviceId: 'nosuchplayer' });
    expect(unknown.status).to.equal(404);
    const invalid = await rig.call('POST', '/api/devices', BOB, { deviceId: 'bad/id' });
    expect(invalid.status).to.equal(400);
    expect(JSON.stringify(invalid.body)).to.contain('/deviceId');
  });

  it('lists for admins every player, for members their own', async () => {
    const admin = (await rig.call('GET', '/api/devices', ADMIN)).body as { devices: Body[] };
    expect(admin.devices.map((d) => d['deviceId'])).to.include.members([LIVING, KIDS]);
    const alice = (await rig.call('GET', '/api/devices', ALICE)).body as { devices: Body[] };
    expect(alice.devices.map((d) => d['deviceId'])).to.deep.equal([LIVING]);
    expect(alice.devices[0]!['room']).to.equal('Living room');
    expect(alice.devices[0]!['state']).to.be.an('object');
    const bob = (await rig.call('GET', '/api/devices', BOB)).body as { devices: Body[] };
    expect(bob.devices).to.deep.equal([]);
    expect((await rig.call('GET', '/api/devices')).status).to.equal(401);
  });

  const ownershipRoutes: Array<[string, string, unknown]> = [
    ['GET', `/api/devices/${LIVING}`, undefined],
    ['PATCH', `/api/devices/${LIVING}`, { name: 'Lounge' }],
    ['POST', `/api/devices/${LIVING}/command`, { command: 'status_request' }],
    ['GET', `/api/devices/${LIVING}/events`, undefined],
    ['GET', `/api/devices/${LIVING}/status`, undefined],
  ];
  for (const [method, path, body] of ownershipRoutes) {
    it(`checks ownership on ${method} ${path.replace(LIVING, ':id')}`, async () => {
      expect((await rig.call(method, path, undefined, body)).status, 'no user').to.equal(401);
      const other = await rig.call(method, path, BOB, body);
      expect(other.status, 'other member').to.equal(404);
      const owner = await rig.call(method, path, ALICE, body);
      expect(owner.status, `owner: ${owner.text}`).to.equal(200);
      const admin = await rig.call(method, path, ADMIN, body);
      expect(admin.status, `admin: ${admin.text}`).to.equal(200);
    });
  }

  it('checks ownership on DELETE, and registers again after it', async () => {
    expect((await rig.call('POST', '/api/devices', BOB, { deviceId: KIDS })).status).to.equal(201);
    expect((await rig.call('DELETE', `/api/devices/${KIDS}`)).status).to.equal(401);
    expect((await rig.call('DELETE', `/api/devices/${KIDS}`, ALICE)).status).to.equal(404);
    expect((await rig.call('DELETE', `/api/devices/${KIDS}`, BOB)).status).to.equal(204);
    expect((await rig.call('GET', `/api/devices/${KIDS}`, BOB)).status).to.equal(404);
    expect((await rig.call('POST', '/api/devices', BOB, { deviceId: KIDS })).status).to.equal(201);
    expect((await rig.call('DELETE', `/api/devices/${KIDS}`, ADMIN)).status).to.equal(204);
    expect((await rig.call('DELETE', `/api/devices/${KIDS}`, ADMIN)).status).to.equal(404);
  });

  it('changes name, room and metadata, and refuses unknown fields naming them', async () => {
    const patched = await rig.call('PATCH', `/api/devices/${LIVING}`, ALICE, { name: 'Lounge player', room: 'Lounge', metadata: { colour: 'red' } });
    expect(patched.status).to.equal(200);
    expect(patched.body).to.include({ name: 'Lounge player', room: 'Lounge' });
    const bad = await rig.call('PATCH', `/api/devices/${LIVING}`, ALICE, { owner: 'bob' });
    expect(bad.status).to.equal(400);
    expect(JSON.stringify(bad.body)).to.contain('owner');
    const empty = await rig.call('PATCH', `/api/devices/${LIVING}`, ALICE, {});
    expect(empty.status).to.equal(400);
  });

  it('plays a card and pauses it through the command route, answering how the player confirmed', async () => {
    const play = await rig.call('POST', `/api/devices/${LIVING}/command`, ALICE, { command: 'play', card_id: 'demo1' });
    expect(play.status, play.text).to.equal(200);
    expect(play.body).to.include({ deviceId: LIVING, command: 'play' });
    expect(['ack', 'state']).to.include((play.body as Body)['confirmedBy']);
    await waitForState(rig.hub.devices, LIVING, (s) => s.playback.state === 'playing' && s.playback.cardId === 'demo1');
    const status = (await rig.call('GET', `/api/devices/${LIVING}/status`, ALICE)).body as { status: Body; playback: Body };
    expect(status.playback).to.include({ state: 'playing', card_id: 'demo1' });
    expect(status.status['status']).to.equal('connected');
    const pause = await rig.call('POST', `/api/devices/${LIVING}/command`, ALICE, { command: 'pause', request_id: 'r-1' });
    expect(pause.status, pause.text).to.equal(200);
    expect(pause.body).to.include({ command: 'pause', requestId: 'r-1' });
    await waitForState(rig.hub.devices, LIVING, (s) => s.playback.state === 'paused');
  });

  it('refuses invalid commands with a 400 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ command: 'volume', volume: 300 }, '/volume'],
      [{ command: 'play' }, '/'],
      [{ command: 'explode' }, '/command'],
      [{ command: 'seek', position: 'ten' }, '/position'],
      [{ command: 'pause', extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const answer = await rig.call('POST', `/api/devices/${LIVING}/command`, ALICE, body);
      expect(answer.status, JSON.stringify(body)).to.equal(400);
      expect(JSON.stringify((answer.body as { error: Body }).error), JSON.stringify(body)).to.contain(field);
    }
    const notJson = await rig.call('POST', `/api/devices/${LIVING}/command`, ALICE, '{"command":');
    expect(notJson.status).to.equal(400);
  });

  it('pages the event log newest first', async () => {
    await rig.hub.store.events.flush();
    const all = (await rig.call('GET', `/api/devices/${LIVING}/events?limit=500`, ALICE)).body as { events: Body[] };
    expect(all.events.length).to.be.greaterThan(2);
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await rig.call('GET', `/api/devices/${LIVING}/events?limit=2${before ? `&before=${before}` : ''}`, ALICE);
      expect(page.status).to.equal(200);
      const body = page.body as { events: Body[]; nextBefore?: string };
      expect(body.events.length).to.be.at.most(2);
      seen.push(...body.events.map((e) => String(e['id'])));
      if (!body.nextBefore) break;
      before = body.nextBefore;
    }
    expect(seen).to.deep.equal(all.events.map((e) => e['id']));
    const started = (await rig.call('GET', `/api/devices/${LIVING}/events?type=playback_started`, ALICE)).body as { events: Body[] };
    expect(started.events.length).to.be.greaterThan(0);
    expect(started.events.every((e) => e['type'] === 'playback_started' && e['deviceId'] === LIVING)).to.equal(true);
    const future = (await rig.call('GET', `/api/devices/${LIVING}/events?since=2999-01-01`, ALICE)).body as { events: Body[] };
    expect(future.events).to.deep.equal([]);
    for (const query of ['type=nope', 'limit=0', 'limit=abc', 'since=yesterday', 'before=a/b']) {
      const bad = await rig.call('GET', `/api/devices/${LIVING}/events?${query}`, ALICE);
      expect(bad.status, query).to.equal(400);
      expect(JSON.stringify(bad.body)).to.contain('/query/');
    }
  });
});
