import { expect } from 'chai';
import { once } from 'node:events';
import type { Hub } from '../../server/hub';
import { RENEWAL_CHECK_MS } from '../../server/scripts';
import { STREAM_URL_LIFETIME_SECONDS, type StreamServed } from '../../server/streams';
import { ManualClock } from '../../server/time/clock';
import { KIDS, call, inviteMember, onboardAdmin, upload, type SignIn } from '../hub/api-world';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

const LIFETIME_MS = STREAM_URL_LIFETIME_SECONDS * 1000;
/** Past the point where a URL has less than half its lifetime left, on an hourly check. */
const PAST_RENEWAL_MS = LIFETIME_MS / 2 + 2 * RENEWAL_CHECK_MS;

/** The track URLs on the card, read from the cloud (not the hub's card cache). */
async function cardUrls(hub: Hub, cardId: string): Promise<string[]> {
  const card = await hub.cloud.api!.getCard(cardId);
  return card.content.chapters.flatMap((chapter) => chapter.tracks.map((track) => track.trackUrl));
}

async function fetchStream(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers: { range: 'bytes=0-99' } });
  if (response.status === 206 || response.status === 200) {
    await response.arrayBuffer();
    return { status: response.status, body: undefined };
  }
  return { status: response.status, body: await response.json() };
}

/**
 * Issue 13 item 10: a stream URL on a card stops working after its lifetime (a leaked card URL
 * dies), while the hub renews the URLs on the cards it deployed, so the family's cards keep playing.
 * The hub runs on a ManualClock: days pass in an instant.
 */
describe('stream URLs on cards expire, and the hub renews the cards it deployed', function () {
  this.timeout(90_000);
  let hub: Hub | undefined;
  let clock: ManualClock;
  let kid: SignIn;

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    hub = await startTestHub({}, { clock });
    const admin = await onboardAdmin(hub);
    kid = await inviteMember(hub, admin, 'kid@example.org', 'Kid');
    const claimed = await call(hub, 'POST', '/api/devices', kid.accessToken, { deviceId: KIDS, name: 'Kids' });
    expect(claimed.status, claimed.text).to.equal(201);
  });
  afterEach(async () => {
    await stopTestHub(hub);
    hub = undefined;
  });

  const deployPlaylist = async (): Promise<{ scriptId: string; cardId: string }> => {
    const first = await upload(hub!, kid.accessToken, 'one.mp3');
    const second = await upload(hub!, kid.accessToken, 'two.mp3');
    const script = await call(hub!, 'POST', '/api/scripts', kid.accessToken, {
      name: 'Bedtime',
      type: 'playlist',
      definition: { tracks: [{ audioFileId: first.id }, { audioFileId: second.id }] },
    });
    expect(script.status, script.text).to.equal(201);
    const scriptId = (script.json as { id: string }).id;
    const deployed = await call(hub!, 'POST', `/api/scripts/${scriptId}/deploy`, kid.accessToken, { deviceId: KIDS });
    expect(deployed.status, deployed.text).to.equal(200);
    return { scriptId, cardId: (deployed.json as { cardId: string }).cardId };
  };

  it('refuses a card URL after its lifetime with 403 and the error shape; the renewed card plays on a virtual player', async () => {
    const { scriptId, cardId } = await deployPlaylist();
    const leaked = await cardUrls(hub!, cardId);
    expect(leaked).to.have.length(2);
    for (const url of leaked) expect((await fetchStream(url)).status).to.equal(206);

    // Half the lifetime on: the hub has signed the card's URLs anew and saved the card.
    const renewed = once(hub!.scripts.renewal.events, 'renewed');
    await clock.advance(PAST_RENEWAL_MS);
    const [event] = (await renewed) as [{ scriptId: string; cardId: string; urls: number }];
    expect(event).to.include({ scriptId, cardId, urls: 2 });
    await hub!.scripts.renewal.idle();
    const fresh = await cardUrls(hub!, cardId);
    expect(fresh).to.have.length(2);
    fresh.forEach((url, i) => {
      expect(url).to.not.equal(leaked[i]);
      // Same file, same place on the card: only the signature changed.
      expect(new URL(url).pathname).to.equal(new URL(leaked[i]!).pathname);
    });

    // Past the first lifetime: the old (leaked) URLs are refused, the card's current ones work.
    await clock.advance(LIFETIME_MS - PAST_RENEWAL_MS + 1000);
    for (const url of leaked) {
      const refused = await fetchStream(url);
      expect(refused.status).to.equal(403);
      expect(refused.body).to.deep.equal({ error: { code: 'forbidden', message: 'the stream token has expired', details: [] } });
    }
    for (const url of fresh) expect((await fetchStream(url)).status).to.equal(206);

    // A virtual player given the card fetches the renewed URL from the hub and plays.
    const served = new Promise<StreamServed>((resolve) => {
      const onServed = (answer: StreamServed): void => {
        if (answer.scriptId !== scriptId || answer.deviceId !== KIDS) return;
        hub!.streams.events.off('served', onServed);
        resolve(answer);
      };
      hub!.streams.events.on('served', onServed);
    });
    const played = await call(hub!, 'POST', `/api/devices/${KIDS}/command`, kid.accessToken, { command: 'play', card_id: cardId });
    expect(played.status, played.text).to.equal(200);
    expect([200, 206]).to.include((await served).status);
  });

  it('does not renew the card of a deleted script: its URLs stay revoked and are never signed again', async () => {
    const { scriptId, cardId } = await deployPlaylist();
    const before = await cardUrls(hub!, cardId);
    const deleted = await call(hub!, 'DELETE', `/api/scripts/${scriptId}`, kid.accessToken);
    expect(deleted.status, deleted.text).to.equal(204);
    let renewals = 0;
    hub!.scripts.renewal.events.on('renewed', () => renewals++);

    await clock.advance(LIFETIME_MS + RENEWAL_CHECK_MS);
    await hub!.scripts.renewal.check();
    expect(renewals).to.equal(0);
    expect(await cardUrls(hub!, cardId)).to.deep.equal(before);
    for (const url of before) expect((await fetchStream(url)).status).to.equal(403);
  });

  it('gives the URLs on a new card a lifetime: the hub renews nothing before half of it has passed', async () => {
    const { cardId } = await deployPlaylist();
    const urls = await cardUrls(hub!, cardId);
    await clock.advance(LIFETIME_MS / 2 - 2 * RENEWAL_CHECK_MS);
    await hub!.scripts.renewal.check();
    expect(await cardUrls(hub!, cardId)).to.deep.equal(urls);
    for (const url of urls) expect((await fetchStream(url)).status).to.equal(206);
  });
});
