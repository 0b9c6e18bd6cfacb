import { expect } from 'chai';
import { call, storyBody } from '../hub/api-world';
import { AnnounceWorld, KIDS, playerView, type PlayerView } from './announce-world';

/**
 * Snapshot and restore (issue 15 item 2) on a virtual player of the composed hub: whatever the
 * player was doing (playing mid-track, paused, idle, an interactive story card mid-story), an
 * announcement plays (chime first, at its own volume) and then the player has the same card,
 * chapter, track, play state and volume again, its position within 2 s of where it was.
 */
describe('Announcements: snapshot and restore on the player', function () {
  this.timeout(60_000);
  let world: AnnounceWorld;

  before(async () => {
    world = await AnnounceWorld.start();
  });

  after(async () => {
    await world?.stop();
  });

  /** Announces the short file with a chime at volume 50 on Kids Bedroom; resolves with the player as it was just before, once it is finished. */
  async function announceAndWait(): Promise<{ before: PlayerView; during: string[] }> {
    const before = await playerView(world.hub, KIDS);
    const mark = world.house.mark;
    const announcement = await world.announce({ audio_file_id: world.shortFile.id, device_ids: [KIDS], volume: 50, chime: true });
    expect(announcement.players.map((entry) => [entry.deviceId, entry.status])).to.deep.equal([[KIDS, 'playing']]);
    await world.event(KIDS, 'announcement_started', announcement.id, mark);
    const playing = await world.playback(KIDS, (p) => p['card_id'] !== before.cardId && p['state'] === 'playing' && p['volume'] === 50, mark);
    await world.event(KIDS, 'announcement_finished', announcement.id, mark);
    const record = await world.record(announcement.id);
    expect(record.players[0]).to.include({ deviceId: KIDS, status: 'finished' });
    // The chime, then the announcement: two tracks of the announcement card were played.
    const tracks = world.playbackSince(KIDS, mark).filter((p) => p['card_id'] === playing['card_id'] && p['state'] === 'playing').map((p) => String(p['track_key']));
    return { before, during: [...new Set(tracks)] };
  }

  it('puts back a player that was playing mid-track: same card, chapter, track, playing, volume, position within 2 s', async () => {
    await world.command(KIDS, { command: 'volume', volume: 30 });
    await world.command(KIDS, { command: 'play', card_id: 'demo1', chapter_key: '02', seconds_in: 20 });
    const volume = (await world.playback(KIDS, (p) => p['card_id'] === 'demo1' && p['state'] === 'playing', 0))['volume'];
    const { before, during } = await announceAndWait();
    expect(during, 'chime then announcement').to.deep.equal(['01', '02']);
    const after = await playerView(world.hub, KIDS);
    expect(after).to.include({ cardId: 'demo1', chapterKey: '02', trackKey: before.trackKey, playbackStatus: 'playing', volumePercent: before.volumePercent });
    expect(after.position, `back at ${after.position} s, was at ${before.position} s`).to.be.within(before.position - 2, before.position + 2);
    expect(world.latestPlayback(KIDS)['volume']).to.equal(volume);
  });

  it('puts back a paused player paused, at the same place', async () => {
    await world.command(KIDS, { command: 'play', card_id: 'demo1', chapter_key: '03', seconds_in: 40 });
    await world.playback(KIDS, (p) => p['card_id'] === 'demo1' && p['chapter_key'] === '03' && p['state'] === 'playing', 0);
    const mark = world.house.mark;
    await world.command(KIDS, { command: 'pause' });
    await world.playback(KIDS, (p) => p['state'] === 'paused', mark);
    const { before } = await announceAndWait();
    expect(before.playbackStatus).to.equal('paused');
    const after = await playerView(world.hub, KIDS);
    expect(after).to.include({ cardId: 'demo1', chapterKey: '03', trackKey: before.trackKey, playbackStatus: 'paused', volumePercent: before.volumePercent });
    expect(after.position).to.be.within(before.position - 2, before.position + 2);
  });

  it('leaves an idle player idle afterwards, at its own volume', async () => {
    const mark = world.house.mark;
    await world.command(KIDS, { command: 'stop' });
    await world.playback(KIDS, (p) => p['state'] === 'stopped' || p['state'] === 'idle', mark);
    const { before } = await announceAndWait();
    const after = await playerView(world.hub, KIDS);
    expect(after.playbackStatus, 'idle stays idle').to.equal('stopped');
    expect(after.volumePercent).to.equal(before.volumePercent);
    expect(after.cardId, 'the announcement card is not left playing').to.not.equal('demo1');
  });

  it('takes an interactive story card back to the same passage (chapter and track), playing, after an announcement mid-story', async () => {
    const created = await call(world.hub, 'POST', '/api/stories', world.admin.accessToken, storyBody('Mission', world.shortFile.id));
    expect(created.status, created.text).to.equal(201);
    const storyId = (created.json as { story: { id: string } }).story.id;
    let mark = world.house.mark;
    const deployed = await call(world.hub, 'POST', `/api/stories/${storyId}/deploy`, world.admin.accessToken, { deviceId: KIDS });
    expect(deployed.status, deployed.text).to.equal(200);
    const start = await world.playback(KIDS, (p) => p['card_id'] !== undefined && p['card_id'] !== 'demo1' && p['state'] === 'playing', mark);
    const storyCard = String(start['card_id']);
    // The listener chooses "left": the story goes on to the car chase, the card's second passage.
    mark = world.house.mark;
    await world.control(`${KIDS}/press/left`);
    await world.playback(KIDS, (p) => p['card_id'] === storyCard && p['chapter_key'] === '02' && p['state'] === 'playing', mark);
    const { before } = await announceAndWait();
    expect(before).to.include({ cardId: storyCard, chapterKey: '02' });
    const after = await playerView(world.hub, KIDS);
    expect(after).to.include({ cardId: storyCard, chapterKey: '02', trackKey: before.trackKey, volumePercent: before.volumePercent });
    expect(after.playbackStatus).to.be.oneOf(['playing', 'loading']);
    expect(after.position).to.be.within(before.position - 2, before.position + 2);
  });
});
