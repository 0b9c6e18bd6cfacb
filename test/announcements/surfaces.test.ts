import { expect } from 'chai';
import mqtt from 'mqtt';
import type { Announcement } from '../../server/types/schemas';
import { call, inviteMember, type SignIn } from '../hub/api-world';
import { AnnounceWorld, KIDS, LIVING_ROOM, playerView, type Json } from './announce-world';

const PLAYROOM = 'vplay0room0yoto0player00';

/**
 * Every surface of announcements on the composed hub (issue 15 item 4): REST (202, outcomes,
 * errors, the members' rules), yoto/<id>/announce with JSON or plain text (spoken by the hub's
 * text to speech), yoto/broadcast/announcements, the broker's ACL, and Home Assistant's notify
 * entities, whose command topics speak on the players.
 */
describe('Announcements: REST, MQTT and Home Assistant surfaces', function () {
  this.timeout(90_000);
  let world: AnnounceWorld;
  let member: SignIn;

  before(async () => {
    world = await AnnounceWorld.start({}, [KIDS, LIVING_ROOM, PLAYROOM]);
    member = await inviteMember(world.hub, world.admin, 'kid@example.org', 'Kid');
    // The member registers (claims) Kids Bedroom: it is theirs, the other players are not.
    const claimed = await call(world.hub, 'POST', '/api/devices', member.accessToken, { deviceId: KIDS });
    expect(claimed.status, claimed.text).to.be.oneOf([200, 201]);
  });

  after(async () => {
    await world?.stop();
  });

  describe('REST /api/announcements', () => {
    it('answers 202 with the id and each player\'s status, then GET shows the outcome per player', async () => {
      const mark = world.house.mark;
      const posted = await call(world.hub, 'POST', '/api/announcements', world.admin.accessToken, { url: `${world.hub.url}/announcements/chime.mp3`, device_ids: [LIVING_ROOM], request_id: 'rest-1' });
      expect(posted.status, posted.text).to.equal(202);
      const announcement = posted.json as Announcement;
      expect(announcement).to.include({ source: 'api' });
      expect(announcement.request).to.include({ request_id: 'rest-1' });
      expect(announcement.players.map((p) => p.deviceId)).to.deep.equal([LIVING_ROOM]);
      await world.event(LIVING_ROOM, 'announcement_finished', announcement.id, mark);
      const listed = await call(world.hub, 'GET', '/api/announcements', world.admin.accessToken);
      expect(listed.status).to.equal(200);
      const found = (listed.json as { announcements: Announcement[] }).announcements.find((a) => a.id === announcement.id);
      expect(found?.players[0]).to.include({ deviceId: LIVING_ROOM, status: 'finished' });
      expect(found?.players[0]?.startedAt).to.be.a('string');
    });

    it('answers bad bodies with 400 and the error shape, unknown players and files with 404, never a 5xx', async () => {
      const cases: Array<[unknown, number, string]> = [
        [{ voice: 'en' }, 400, 'validation_failed'],
        [{ text: 'Hi', url: 'https://example.com/a.mp3' }, 400, 'validation_failed'],
        [{ text: 'Hi', repeat: 9 }, 400, 'validation_failed'],
        [{ text: 'Hi', volume: 101 }, 400, 'validation_failed'],
        [{ text: 'Hi', priority: 'urgent' }, 400, 'validation_failed'],
        [{ text: 'Hi', device_ids: ['ghost'] }, 404, 'not_found'],
        [{ audio_file_id: 'no-such-file', device_ids: [KIDS] }, 404, 'not_found'],
      ];
      for (const [body, status, code] of cases) {
        const answer = await call(world.hub, 'POST', '/api/announcements', world.admin.accessToken, body);
        expect(answer.status, `${JSON.stringify(body)}: ${answer.text}`).to.equal(status);
        const error = (answer.json as { error: { code: string; message: string; details: unknown[] } }).error;
        expect(error.code).to.equal(code);
        expect(error.message).to.be.a('string').and.not.equal('');
        expect(error.details).to.be.an('array');
      }
      const broken = await fetch(`${world.hub.url}/api/announcements`, { method: 'POST', headers: { authorization: `Bearer ${world.admin.accessToken}`, 'content-type': 'application/json' }, body: '{"text":' });
      expect(broken.status).to.equal(400);
      expect((await call(world.hub, 'GET', '/api/announcements/no-such-id', world.admin.accessToken)).status).to.equal(404);
      expect((await call(world.hub, 'POST', '/api/announcements', undefined, { text: 'Hi' })).status).to.equal(401);
    });

    it('lets a member announce only on their own players and see only their players\' outcomes', async () => {
      const other = await call(world.hub, 'POST', '/api/announcements', member.accessToken, { url: `${world.hub.url}/announcements/chime.mp3`, device_ids: [LIVING_ROOM] });
      expect(other.status, other.text).to.equal(404);
      const mark = world.house.mark;
      // No device_ids: every online player the member may use, which is Kids Bedroom only.
      const own = await world.announce({ url: `${world.hub.url}/announcements/chime.mp3` }, member.accessToken);
      expect(own.players.map((p) => p.deviceId)).to.deep.equal([KIDS]);
      await world.event(KIDS, 'announcement_finished', own.id, mark);
      const listed = (await call(world.hub, 'GET', '/api/announcements', member.accessToken)).json as { announcements: Announcement[] };
      expect(listed.announcements.flatMap((a) => a.players.map((p) => p.deviceId))).to.satisfy((ids: string[]) => ids.every((id) => id === KIDS));
      expect(listed.announcements.map((a) => a.id)).to.include(own.id);
    });
  });

  describe('MQTT', () => {
    it('speaks a plain-text payload of yoto/<id>/announce on that player with the hub\'s text to speech', async () => {
      const mark = world.house.mark;
      await world.house.publish(`yoto/${KIDS}/announce`, 'Dinner is ready');
      const started = await world.house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_started' && e['announcement'] === 'Dinner is ready', mark);
      await world.event(KIDS, 'announcement_finished', String(started['announcement_id']), mark);
      const view = (await playerView(world.hub, KIDS)) as unknown as { lastStreamError?: unknown };
      expect(view.lastStreamError, 'the player fetched the speech').to.equal(undefined);
      const record = await world.record(String(started['announcement_id']));
      expect(record).to.include({ source: 'mqtt' });
      expect(record.request).to.deep.equal({ text: 'Dinner is ready', device_ids: [KIDS] });
    });

    it('takes the announcement JSON on yoto/<id>/announce and rejects device_ids naming another player', async () => {
      let mark = world.house.mark;
      await world.house.publish(`yoto/${KIDS}/announce`, JSON.stringify({ text: 'Ten minutes until lights out', volume: 40, request_id: 'json-1' }));
      const started = await world.house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_started' && e['request_id'] === 'json-1', mark);
      await world.event(KIDS, 'announcement_finished', String(started['announcement_id']), mark);
      expect(await world.house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_completed' && e['request_id'] === 'json-1', mark)).to.include({ command: 'announcement' });
      mark = world.house.mark;
      await world.house.publish(`yoto/${KIDS}/announce`, JSON.stringify({ text: 'Hi', device_ids: [LIVING_ROOM], request_id: 'json-2' }));
      expect(await world.house.nextOn(`yoto/${KIDS}/events`, (e) => e['request_id'] === 'json-2', mark)).to.include({ type: 'command_rejected' });
    });

    it('lets a member announce on their own player\'s topic (the broker ACL), and the hub hears it', async () => {
      const client = await mqtt.connectAsync(world.hub.broker.url, { username: 'kid@example.org', password: 'another long secret', reconnectPeriod: 0 });
      try {
        const mark = world.house.mark;
        await client.publishAsync(`yoto/${KIDS}/announce`, 'Bath time', { qos: 1 });
        await world.house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_finished' && e['announcement'] === 'Bath time', mark);
        // Another player's topic is refused by the broker (it closes the connection): the house never sees it.
        const refusedBefore = world.hub.embeddedBroker!.refused.publishes;
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        await client.publishAsync(`yoto/${LIVING_ROOM}/announce`, 'Not yours', { qos: 0 });
        await closed;
        expect(world.hub.embeddedBroker!.refused.publishes).to.equal(refusedBefore + 1);
      } finally {
        await client.endAsync(true);
      }
      expect(world.house.messages.some((m) => m.topic === `yoto/${LIVING_ROOM}/announce`)).to.equal(false);
    });
  });

  describe('Home Assistant', () => {
    it('discovers a notify entity per player whose command topic speaks on that player', async () => {
      const config = await world.house.nextOn(`homeassistant/notify/${KIDS}/announce/config`);
      expect(config).to.include({ command_topic: `yoto/${KIDS}/announce`, unique_id: `yoto_${KIDS}_announce` });
      expect((config['device'] as Json)['identifiers']).to.deep.equal([`yoto_${KIDS}`]);
      const mark = world.house.mark;
      // What notify.send_message publishes: the message as plain text.
      await world.house.publish(String(config['command_topic']), 'The washing machine has finished');
      await world.house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'announcement_finished' && e['announcement'] === 'The washing machine has finished', mark);
    });

    it('discovers one notify entity for every player, whose command template speaks on each online player', async () => {
      const config = await world.house.nextOn('homeassistant/notify/yoto_all_players/announce/config');
      expect(config).to.include({ command_topic: 'yoto/broadcast/announcements', command_template: '{"text": {{ value | tojson }}}' });
      const mark = world.house.mark;
      // Home Assistant renders the template with the message: {"text": "Dinner is ready"}.
      await world.house.publish(String(config['command_topic']), JSON.stringify({ text: 'Dinner is ready' }));
      for (const deviceId of [KIDS, LIVING_ROOM, PLAYROOM]) {
        await world.house.nextOn(`yoto/${deviceId}/events`, (e) => e['type'] === 'announcement_finished' && e['announcement'] === 'Dinner is ready', mark);
      }
    });
  });
});
