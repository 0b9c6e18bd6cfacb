import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Hub } from '../../server/hub';
import type { VirtualPlayer } from '../../server/virtual/players/virtual-player';
import { codeChallengeS256, createCodeVerifier } from '../../server/yoto/auth/pkce';
import { fixturesDir } from '../helpers/fixtures';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { snapshotWhen } from '../helpers/virtual-player';

const LIVING = 'vliving0room0yoto0player';

/** An MP3 server on its own port: somewhere a card could point a player that is neither the hub nor the virtual cloud. */
async function audioServer(): Promise<{ origin: string; requests: () => number; close: () => Promise<void> }> {
  const mp3 = fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3'));
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': mp3.length }).end(mp3);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** A card of the hub's virtual cloud whose one track streams from `origin`, inserted in Living Room: that player. */
async function insertCardFrom(hub: Hub, origin: string, title: string): Promise<VirtualPlayer> {
  const virtual = hub.cloud.virtualCloud!;
  const card = await virtual.cards.save({
    title,
    content: { chapters: [{ key: '01', title: 'Elsewhere', tracks: [{ key: '01', title: 'Elsewhere', type: 'stream', format: 'mp3', trackUrl: `${origin}/track.mp3` }] }] },
  });
  const player = virtual.fleet.player(LIVING)!;
  await player.insertCard(card.cardId);
  return player;
}

describe('The virtual cloud\'s own security (issue 13, item 10)', function () {
  let hub: Hub | undefined;
  let elsewhere: Awaited<ReturnType<typeof audioServer>> | undefined;
  afterEach(async () => {
    await stopTestHub(hub);
    hub = undefined;
    await elsewhere?.close();
    elsewhere = undefined;
  });

  it('its login approves only the hub\'s client id: another process gets no code and no redirect', async () => {
    hub = await startTestHub();
    const cloudUrl = hub.cloud.virtualCloud!.url;
    const authorize = new URL('/authorize', cloudUrl);
    for (const [key, value] of Object.entries({
      client_id: 'some-local-process', redirect_uri: 'http://127.0.0.1:9/callback', response_type: 'code', state: 'abc',
      code_challenge: codeChallengeS256(createCodeVerifier()), code_challenge_method: 'S256', audience: 'https://api.yotoplay.com', scope: 'offline_access user:content:view',
    })) authorize.searchParams.set(key, value);
    const answer = await fetch(authorize, { redirect: 'manual' });
    expect(answer.status).to.equal(400);
    expect(answer.headers.get('location')).to.equal(null);
    expect(await answer.json()).to.deep.equal({ error: 'unauthorized_client', error_description: 'Unknown client: some-local-process' });
    // The hub itself is signed in to its virtual cloud and reads cards.
    expect(hub.cloud.state).to.equal('running');
    expect(await hub.cloud.api!.listMyCards()).to.be.an('array');
  });

  it('its players fetch streams only from the hub or the virtual cloud, unless the setting allows more', async () => {
    elsewhere = await audioServer();
    hub = await startTestHub();
    const player = await insertCardFrom(hub, elsewhere.origin, 'Points elsewhere');
    const refused = await snapshotWhen(player, (s) => s.lastStreamError !== undefined);
    expect(refused.lastStreamError!.reason).to.contain('refused').and.contain(elsewhere.origin);
    expect(elsewhere.requests(), 'the player never contacted the other server').to.equal(0);
    await stopTestHub(hub);

    hub = await startTestHub({ virtualStreamOrigins: [elsewhere.origin] });
    const allowedPlayer = await insertCardFrom(hub, elsewhere.origin, 'Points elsewhere, allowed');
    await snapshotWhen(allowedPlayer, (s) => s.playbackStatus === 'playing');
    expect(elsewhere.requests()).to.equal(1);
  });
});
