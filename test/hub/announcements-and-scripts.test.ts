import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { keepMode } from '../helpers/day-mode';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, KIDS, onboardAdmin, upload, type SignIn } from './api-world';

interface Playback {
  state?: string;
  card_id?: string;
  chapter_key?: string;
  position?: number;
  volume?: number;
}

/**
 * Announcements and script play on the hub as `npm start` composes it (the
 * real Hub, its embedded broker, the virtual cloud and players): the house
 * publishes on the home broker or calls the API, and the player's retained
 * playback on yoto/<id>/playback shows what it did. No part is stubbed.
 */
describe('Hub: announcements and script play from the house', function () {
  this.timeout(60_000);
  let hub: Hub;
  let admin: SignIn;
  let house: BrokerWatcher;

  before(async () => {
    hub = await startTestHub();
    admin = await onboardAdmin(hub);
    // The house logs in as the hub's admin: anonymous clients see no yoto/ topic on the embedded broker.
    house = await BrokerWatcher.connect(hub.broker.url, ['yoto/#'], { username: 'admin@example.org', password: 'correct horse battery' });
    await house.nextOn(`yoto/${KIDS}/playback`, () => true);
    // Night mode refuses normal announcements (quiet hours): the player stays in day mode whatever the time of day.
    await keepMode(hub.url, admin.accessToken, house, KIDS, 'day');
  });

  after(async () => {
    await house?.close();
    await stopTestHub(hub);
  });

  const playbackOf = (deviceId: string, accept: (p: Playback) => boolean, from = house.mark): Promise<Playback> =>
    house.nextOn(`yoto/${deviceId}/playback`, (p) => accept(p as Playback), from) as Promise<Playback>;

  it('plays an announcement of a library file, then puts back the card, chapter, position and volume it had', async () => {
    const file = await upload(hub, admin.accessToken, 'dinner.mp3');
    let mark = house.mark;
    const started = await call(hub, 'POST', `/api/devices/${KIDS}/command`, admin.accessToken, { command: 'play', card_id: 'demo1', chapter_key: '02', seconds_in: 20 });
    expect(started.status, started.text).to.equal(200);
    const before = await playbackOf(KIDS, (p) => p.card_id === 'demo1' && p.state === 'playing', mark);
    expect(before.chapter_key).to.equal('02');
    const volumeBefore = hub.devices.get(KIDS)?.volume?.percent;
    expect(volumeBefore).to.be.a('number').and.not.equal(60);

    mark = house.mark;
    await house.publish('yoto/broadcast/announcements', JSON.stringify({ audio_file_id: file.id, device_ids: [KIDS], volume: 60, request_id: 'dinner' }));
    const announcing = await playbackOf(KIDS, (p) => p.card_id !== undefined && p.card_id !== 'demo1' && p.state === 'playing', mark);
    const startedEvent = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_started', mark);
    expect(startedEvent['card_id']).to.equal(announcing.card_id);

    const back = await playbackOf(KIDS, (p) => p.card_id === 'demo1' && p.state === 'playing', mark);
    expect(back.chapter_key, 'the same chapter').to.equal('02');
    // It stopped at about 20 s in (plus the moments before the announcement); it carries on from there.
    expect(back.position).to.be.within(20, 26);
    await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_finished', mark);
    await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_completed' && e['request_id'] === 'dinner', mark);
    expect(hub.devices.get(KIDS)?.volume?.percent, 'the volume it had before').to.equal(volumeBefore);
  });

  it('answers an announcement it cannot play with announcement_failed and command_failed naming why, and the hub carries on', async () => {
    const mark = house.mark;
    await house.publish('yoto/broadcast/announcements', JSON.stringify({ audio_file_id: 'no-such-file', device_ids: [KIDS], request_id: 'missing' }));
    const failed = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_failed', mark);
    expect(failed['reason']).to.equal('not_found');
    expect(String(failed['message'])).to.match(/no-such-file/);
    const reported = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_failed' && e['request_id'] === 'missing', mark);
    expect(reported).to.include({ command: 'announcement' });
    expect((await call(hub, 'GET', '/api/system/health')).status).to.equal(200);
  });

  it('plays a hub script from yoto/<id>/commands and from POST /api/devices/:id/command, with the deploy rules', async () => {
    const file = await upload(hub, admin.accessToken, 'bedtime.mp3');
    const script = await call(hub, 'POST', '/api/scripts', admin.accessToken, { name: 'Bedtime', type: 'simple', definition: { audioFileId: file.id } });
    expect(script.status, script.text).to.equal(201);
    const { id: scriptId } = script.json as { id: string };

    let mark = house.mark;
    await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', script_id: scriptId, request_id: 'bed-mqtt' }));
    const done = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['request_id'] === 'bed-mqtt', mark);
    expect(done, JSON.stringify(done)).to.include({ type: 'command_completed', script_id: scriptId });
    const { cardId } = (await call(hub, 'GET', `/api/scripts/${scriptId}`, admin.accessToken)).json as { cardId: string };
    await playbackOf(KIDS, (p) => p.card_id === cardId && p.state === 'playing', mark);

    mark = house.mark;
    await call(hub, 'POST', `/api/devices/${KIDS}/command`, admin.accessToken, { command: 'stop' });
    await playbackOf(KIDS, (p) => p.state !== 'playing', mark);
    mark = house.mark;
    const rest = await call(hub, 'POST', `/api/devices/${KIDS}/command`, admin.accessToken, { command: 'play', script_id: scriptId });
    expect(rest.status, rest.text).to.equal(200);
    await playbackOf(KIDS, (p) => p.card_id === cardId && p.state === 'playing', mark);

    // Another member may not play the admin's script: 404, as POST /api/scripts/:id/deploy answers.
    const invitation = await call(hub, 'POST', '/api/auth/invitations', admin.accessToken, { email: 'bob@example.org', role: 'member' });
    const { invitationToken } = invitation.json as { invitationToken: string };
    const bob = (await call(hub, 'POST', '/api/auth/register', undefined, { invitationToken, name: 'Bob', password: 'another long secret' })).json as SignIn;
    const refused = await call(hub, 'POST', `/api/devices/${KIDS}/command`, bob.accessToken, { command: 'play', script_id: scriptId });
    const deploy = await call(hub, 'POST', `/api/scripts/${scriptId}/deploy`, bob.accessToken, { deviceId: KIDS });
    expect([refused.status, deploy.status]).to.deep.equal([404, 404]);

    // An unknown script on MQTT is a command_failed naming it; the hub carries on.
    mark = house.mark;
    await house.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', script_id: 'no-such-script', request_id: 'ghost' }));
    const failed = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['request_id'] === 'ghost', mark);
    expect(failed).to.include({ type: 'command_failed', command: 'play' });
  });
});
