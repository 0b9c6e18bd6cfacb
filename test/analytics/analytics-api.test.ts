import { expect } from 'chai';
import { createAnalyticsApi } from '../../server/analytics';
import type { PlaybackSession } from '../../server/types/schemas';
import { ADMIN, ALICE, BOB, LIVING, startRig, type Rig } from '../devices/rig';

type Body = Record<string, unknown>;

describe('analytics API', function () {
  let rig: Rig;
  let session: PlaybackSession;

  before(async () => {
    rig = await startRig();
    expect((await rig.call('POST', '/api/devices', ALICE, { deviceId: LIVING })).status).to.equal(201);
    const ended = new Promise<PlaybackSession>((resolve) => {
      rig.hub.devices.bus.on('test', 'session', (s) => {
        if (s.deviceId === LIVING && s.completedAt) resolve(s);
      });
    });
    for (const command of [{ command: 'play', card_id: 'demo1' }, { command: 'pause' }, { command: 'stop' }]) {
      const answer = await rig.call('POST', `/api/devices/${LIVING}/command`, ALICE, command);
      expect(answer.status, answer.text).to.equal(200);
    }
    session = await ended;
    // The hub saves the ended session without waiting: the playback history answers once it is written.
    await rig.hub.store.settled();
  });
  after(async () => rig?.stop());

  it('counts the session, the play of the card and the events after play, pause and stop', async () => {
    const overview = (await rig.call('GET', '/api/analytics/overview', ALICE)).body as Body;
    expect(overview['sessions']).to.equal(1);
    expect(overview['plays']).to.equal(1);
    expect(overview['listeningSeconds']).to.equal(Math.round((session.durationPlayed ?? 0) * 1000) / 1000);
    expect((overview['eventsByType'] as Record<string, number>)['playback_started']).to.be.at.least(1);
    const content = (await rig.call('GET', '/api/analytics/content', ALICE)).body as { content: Body[] };
    expect(content.content[0]).to.include({ cardId: 'demo1', plays: 1, devices: 1 });
    const devices = (await rig.call('GET', '/api/analytics/devices', ADMIN)).body as { devices: Body[] };
    expect(devices.devices.find((d) => d['deviceId'] === LIVING)).to.include({ sessions: 1 });
    const playback = (await rig.call('GET', `/api/analytics/playback?deviceId=${LIVING}`, ALICE)).body as { sessions: PlaybackSession[] };
    expect(playback.sessions.map((s) => s.id)).to.deep.equal([session.id]);
  });

  it('shows members only their players', async () => {
    const bob = (await rig.call('GET', '/api/analytics/overview', BOB)).body as Body;
    expect(bob).to.include({ sessions: 0, plays: 0, events: 0 });
    expect(((await rig.call('GET', '/api/analytics/content', BOB)).body as { content: Body[] }).content).to.deep.equal([]);
    expect((await rig.call('GET', `/api/analytics/playback?deviceId=${LIVING}`, BOB)).status).to.equal(404);
    expect((await rig.call('GET', '/api/analytics/overview')).status).to.equal(401);
  });

  it('filters by range and refuses bad ranges', async () => {
    const past = (await rig.call('GET', '/api/analytics/overview?from=2020-01-01&to=2020-01-31', ALICE)).body as Body;
    expect(past).to.include({ sessions: 0, events: 0 });
    for (const query of ['from=2026-02-01&to=2026-01-01', 'from=soon', 'to=1e99']) {
      const bad = await rig.call('GET', `/api/analytics/overview?${query}`, ALICE);
      expect(bad.status, query).to.equal(400);
    }
  });

  it('rebuilds the same numbers from the event log and the history', async () => {
    const rebuilt = createAnalyticsApi({ store: rig.hub.store, registry: rig.hub.devices });
    await rebuilt.ready;
    rebuilt.stop();
    const range = { fromDay: '2000-01-01', toDay: '2999-12-31' };
    const none = (): number => 0;
    expect(rebuilt.rollups.deviceTotals(range, undefined, none)).to.deep.equal(rig.analytics.rollups.deviceTotals(range, undefined, none));
    expect(rebuilt.rollups.content(range, undefined, none)).to.deep.equal(rig.analytics.rollups.content(range, undefined, none));
  });
});
