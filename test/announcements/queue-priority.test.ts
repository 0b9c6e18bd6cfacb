import { expect } from 'chai';
import { ManualClock } from '../../server/time/clock';
import { keepMode } from '../helpers/day-mode';
import { AnnounceWorld, KIDS, LIVING_ROOM, type Json } from './announce-world';

/**
 * Queue, priority, repeat, expiry, quiet hours and players that are off (issue 15 item 3), on the
 * composed hub. The hub's clock is a ManualClock: an announcement's expiry happens when the test
 * moves the clock, not after a wait; the players play the announcements' audio as real players do.
 */
describe('Announcements: queue, priority, expiry, quiet hours, players that are off', function () {
  this.timeout(90_000);
  let world: AnnounceWorld;
  const clock = new ManualClock(Date.now());

  before(async () => {
    world = await AnnounceWorld.start({ clock });
  });

  after(async () => {
    await world?.stop();
  });

  /** The announcement events of the player from index `from`, as [type, announcement id, data]. */
  const eventsSince = (deviceId: string, from: number): Array<[string, string, Json]> =>
    world.house.messages
      .slice(from)
      .filter((m) => m.topic === `yoto/${deviceId}/events` && m.text.includes('"announcement_'))
      .map((m) => JSON.parse(m.text) as Json)
      .map((e) => [String(e['type']), String(e['announcement_id']), e]);

  it('queues announcements to the same player: they play one after the other, and the player is put back once, after the last', async () => {
    await world.command(KIDS, { command: 'play', card_id: 'demo1', chapter_key: '01', seconds_in: 10 });
    await world.playback(KIDS, (p) => p['card_id'] === 'demo1' && p['state'] === 'playing', 0);
    const mark = world.house.mark;
    const first = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], request_id: 'first' });
    const second = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], request_id: 'second' });
    expect(second.players[0]!.status, 'the second waits for the first').to.equal('queued');
    await world.event(KIDS, 'announcement_finished', second.id, mark);
    const restored = await world.playback(KIDS, (p) => p['card_id'] === 'demo1' && p['state'] === 'playing', mark);
    expect(restored['chapter_key']).to.equal('01');
    expect(eventsSince(KIDS, mark).map(([type, id]) => [type, id])).to.deep.equal([
      ['announcement_started', first.id],
      ['announcement_finished', first.id],
      ['announcement_started', second.id],
      ['announcement_finished', second.id],
    ]);
    // Between the two, the player did not go back to demo1: it is put back once, after the last.
    const firstDone = world.house.messages.findIndex((m, i) => i >= mark && m.text.includes(`"announcement_finished"`) && m.text.includes(first.id));
    const secondStarted = world.house.messages.findIndex((m, i) => i >= mark && m.text.includes(`"announcement_started"`) && m.text.includes(second.id));
    const between = world.house.messages.slice(firstDone, secondStarted).filter((m) => m.topic === `yoto/${KIDS}/playback` && m.text.includes('"demo1"'));
    expect(between).to.deep.equal([]);
    expect((await world.record(first.id)).players[0]).to.include({ status: 'finished' });
  });

  it('lets a high-priority announcement interrupt a normal one, which then plays again from its start', async () => {
    const mark = world.house.mark;
    const normal = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], repeat: 2 });
    await world.event(KIDS, 'announcement_started', normal.id, mark);
    const high = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], priority: 'high' });
    await world.event(KIDS, 'announcement_finished', normal.id, mark);
    expect(eventsSince(KIDS, mark).map(([type, id]) => [type, id === normal.id ? 'normal' : id === high.id ? 'high' : id])).to.deep.equal([
      ['announcement_started', 'normal'],
      ['announcement_started', 'high'],
      ['announcement_finished', 'high'],
      ['announcement_started', 'normal'],
      ['announcement_finished', 'normal'],
    ]);
    const again = eventsSince(KIDS, mark)[3]![2];
    expect(again).to.include({ interrupted: 1 });
    expect((await world.record(normal.id)).players[0]).to.include({ status: 'finished', interrupted: 1 });
    expect((await world.record(high.id)).players[0]).to.include({ status: 'finished' });
  });

  it('repeats an announcement: its card has the announcement `repeat` times, played through', async () => {
    const mark = world.house.mark;
    const repeated = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], repeat: 3 });
    const started = await world.event(KIDS, 'announcement_started', repeated.id, mark);
    await world.event(KIDS, 'announcement_finished', repeated.id, mark);
    const tracks = world.playbackSince(KIDS, mark).filter((p) => p['card_id'] === started['card_id'] && p['state'] === 'playing').map((p) => p['track_key']);
    expect([...new Set(tracks)]).to.deep.equal(['01', '02', '03']);
  });

  it('drops an announcement still queued when expires_in runs out (announcement_failed, reason expired)', async () => {
    const mark = world.house.mark;
    const long = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], repeat: 2 });
    await world.event(KIDS, 'announcement_started', long.id, mark);
    const late = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], expires_in: 5, request_id: 'late' });
    expect(late.players[0]!.status).to.equal('queued');
    await clock.advance(5_000);
    const failed = await world.event(KIDS, 'announcement_failed', late.id, mark);
    expect(failed).to.include({ reason: 'expired', request_id: 'late' });
    expect((await world.record(late.id)).players[0]).to.include({ status: 'expired', reason: 'expired' });
    await world.event(KIDS, 'announcement_finished', long.id, mark);
    expect(eventsSince(KIDS, mark).filter(([type, id]) => type === 'announcement_started' && id === late.id)).to.deep.equal([]);
  });

  it('refuses normal announcements on a player in night mode (quiet hours) and plays high-priority ones', async () => {
    await keepMode(world.hub.url, world.admin.accessToken, world.house, LIVING_ROOM, 'night');
    try {
      let mark = world.house.mark;
      const quiet = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [LIVING_ROOM] });
      expect(quiet.players[0]).to.include({ status: 'skipped', reason: 'quiet_hours' });
      expect(await world.event(LIVING_ROOM, 'announcement_failed', quiet.id, mark)).to.include({ reason: 'quiet_hours' });
      mark = world.house.mark;
      const urgent = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [LIVING_ROOM], priority: 'high', volume: 40 });
      await world.event(LIVING_ROOM, 'announcement_started', urgent.id, mark);
      await world.event(LIVING_ROOM, 'announcement_finished', urgent.id, mark);
    } finally {
      await keepMode(world.hub.url, world.admin.accessToken, world.house, LIVING_ROOM, 'day');
    }
  });

  it('reports a player that is off (announcement_failed, reason offline) without waiting for it, and plays on the others', async () => {
    let mark = world.house.mark;
    await world.control(`${LIVING_ROOM}/power/off`);
    await world.house.nextOn(`yoto/${LIVING_ROOM}/status`, (s) => s['online'] === false, mark);
    try {
      mark = world.house.mark;
      const both = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [LIVING_ROOM, KIDS] });
      expect(both.players.find((p) => p.deviceId === LIVING_ROOM)).to.include({ status: 'skipped', reason: 'offline' });
      expect(await world.event(LIVING_ROOM, 'announcement_failed', both.id, mark)).to.include({ reason: 'offline' });
      await world.event(KIDS, 'announcement_finished', both.id, mark);
      const record = await world.record(both.id);
      expect(record.players.map((p) => [p.deviceId, p.status])).to.deep.equal([
        [LIVING_ROOM, 'skipped'],
        [KIDS, 'finished'],
      ]);
    } finally {
      mark = world.house.mark;
      await world.control(`${LIVING_ROOM}/power/on`);
      await world.house.nextOn(`yoto/${LIVING_ROOM}/status`, (s) => s['online'] === true, mark);
    }
  });
});
