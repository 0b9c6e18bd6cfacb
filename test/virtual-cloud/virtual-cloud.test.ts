import { HUB_VIRTUAL_CLIENT_ID } from '../../server/virtual/contracts';
import { expect } from 'chai';
import mqtt from 'mqtt';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { fixturesDir } from '../helpers/fixtures';
import type { VirtualPlayerSnapshot } from '../../server/virtual/contracts';
import { DEFAULT_VIRTUAL_CLOUD_PORT, VirtualCloud } from '../../server/virtual/virtual-cloud';
import { ManualClock } from '../../server/time/clock';
import { deviceTopics, type YotoEventsMessage } from '../../server/yoto/protocol';
import type { YotoCloudApi } from '../../server/yoto/rest/yoto-api';
import { YotoCloudClient } from '../../server/yoto/rest/yoto-cloud-client';
import type { CardInput, CardTrack } from '../../server/yoto/card';
import { startAedes } from '../helpers/aedes-broker';
import { freePort } from '../helpers/free-port';
import { interactiveCard } from '../yoto-rest/sample-cards';

const LIVING_ROOM = 'vliving0room0yoto0player';

/** The spy story's three narrations uploaded, as an interactive card: left and right choose, the end stops. */
async function spyStory(api: YotoCloudApi): Promise<CardInput> {
  const tracks: CardTrack[] = [];
  for (const [key, name] of [['01', 'Start'], ['02', 'SolveRiddle'], ['03', 'SearchElsewhere']] as const) {
    const audio = await api.uploadAudio(fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', 'audio', `${name}.mp3`)), { filename: `${name}.mp3` });
    tracks.push({ key, title: name, type: 'audio' as const, format: 'mp3', trackUrl: audio.trackUrl, duration: audio.duration!, fileSize: audio.fileSize! });
  }
  const story = interactiveCard('The spy');
  const chapter = story.content.chapters[0]!;
  chapter.tracks = chapter.tracks.map((track, index) => ({ ...track, ...tracks[index]! }));
  return story;
}

function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** The hub's adapter as production wires it: the real clock, a token file, the cloud's URL for both login and API. */
function hubSide(cloudUrl: string, tokenFile: string): YotoCloudClient {
  return new YotoCloudClient({ clientId: HUB_VIRTUAL_CLIENT_ID, apiUrl: cloudUrl, authUrl: cloudUrl, tokenFile, api: { transcodePollMs: 100 } });
}

/** The user opens the sign-in link; fetch plays the browser. */
async function signIn(client: YotoCloudClient): Promise<void> {
  const { links, done } = await client.startSignIn({ port: 0 });
  const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
  await (await fetch(approval.headers.get('location')!)).text();
  await done;
}

async function control(cloud: VirtualCloud, method: string, route: string, body?: unknown): Promise<VirtualPlayerSnapshot> {
  const response = await fetch(`${cloud.url}/virtual/devices/${route}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  expect(response.status, `${method} /virtual/devices/${route}`).to.equal(200);
  return (await response.json()) as VirtualPlayerSnapshot;
}

describe('VirtualCloud end to end, with the real virtual players', function () {
  let broker: EmbeddedBroker | undefined;
  let dataDir: string;
  let cleanups: Array<() => Promise<unknown>> = [];
  async function runCleanups(): Promise<void> {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  }
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-virtual-cloud-'));
  });
  afterEach(async () => {
    await runCleanups();
    await broker?.stop();
    broker = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens on 1882 unless told otherwise', () => {
    expect(DEFAULT_VIRTUAL_CLOUD_PORT).to.equal(1882);
  });

  it('a story uploaded through the adapter plays on a player when inserted, buttons follow its branches, and MQTT shows it', async () => {
    // Measured once mocha's own timeout timer for this test exists (it starts when the test returns its promise).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const before = activeResources();
    broker = await startAedes();
    const cloud = new VirtualCloud({ port: 0, brokerUrl: broker.url, dataDir, transcodeDelayMs: 0 });
    cleanups.push(() => cloud.stop());
    await cloud.start();
    const side = hubSide(cloud.url, path.join(dataDir, 'hub', 'yoto-tokens.json'));
    cleanups.push(() => side.close());
    await signIn(side);

    const card = await side.api.saveCard(await spyStory(side.api));
    const watcher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => watcher.endAsync(true));
    await watcher.subscribeAsync(deviceTopics.events(LIVING_ROOM), { qos: 1 });
    const cardEvent = new Promise<YotoEventsMessage>((resolve) => {
      watcher.on('message', (_topic, payload) => {
        const event = JSON.parse(payload.toString()) as YotoEventsMessage;
        if (event.cardId === card.cardId) resolve(event);
      });
    });
    // The events push window opens with an events/request, as the adapter sends it.
    await watcher.publishAsync(`device/${LIVING_ROOM}/command/events/request`, '{}', { qos: 1 });

    const inserted = await control(cloud, 'POST', `${LIVING_ROOM}/card`, { cardId: card.cardId });
    expect(inserted).to.include({ cardId: card.cardId, chapterKey: '01', trackKey: '01', playbackStatus: 'playing' });
    const event = await cardEvent;
    expect(event).to.include({ cardId: card.cardId, trackKey: '01' });

    const right = await control(cloud, 'POST', `${LIVING_ROOM}/press/right`);
    expect(right.trackKey, 'the right button follows onRhb to track 03').to.equal('03');
    const listed = (await (await fetch(`${cloud.url}/virtual/devices`)).json()) as { devices: VirtualPlayerSnapshot[] };
    expect(listed.devices.map((device) => device.deviceId)).to.deep.equal([LIVING_ROOM, 'vkids0bedroom0yoto0mini0']);

    const off = await control(cloud, 'POST', `${LIVING_ROOM}/power/off`);
    expect(off.poweredOn).to.equal(false);
    const devices = await side.api.listDevices();
    expect(devices.find((device) => device.deviceId === LIVING_ROOM)?.online, 'a switched-off player is offline in the REST API').to.equal(false);
    const refused = await fetch(`${cloud.url}/virtual/devices/${LIVING_ROOM}/press/left`, { method: 'POST' });
    expect(refused.status, 'a switched-off player refuses button presses').to.equal(409);

    await runCleanups();
    await broker.stop();
    broker = undefined;
    // A closed server's handle leaves libuv's list in the close phase that follows its 'close' event.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(activeResources()).to.deep.equal(before);
  });

  it('keeps cards, settings, media and the sign-in across a restart with a data directory', async () => {
    broker = await startAedes();
    const port = await freePort();
    const tokenFile = path.join(dataDir, 'hub', 'yoto-tokens.json');
    const first = new VirtualCloud({ port, brokerUrl: broker.url, dataDir, transcodeDelayMs: 0 });
    cleanups.push(() => first.stop());
    await first.start();
    const side = hubSide(first.url, tokenFile);
    await signIn(side);
    const card = await side.api.saveCard(interactiveCard('Kept'));
    await side.api.updateDeviceConfig(LIVING_ROOM, { nightMaxVolumeLimit: '6' });
    const icon = await side.api.uploadIcon(fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', 'icons', 'Start.gif')), { autoConvert: false });
    await side.close();
    await first.stop();

    const second = new VirtualCloud({ port, brokerUrl: broker.url, dataDir });
    await second.start();
    try {
      const restarted = hubSide(second.url, tokenFile);
      expect(await restarted.tokens.load()).to.equal('signed-in');
      expect((await restarted.api.getCard(card.cardId)).title).to.equal('Kept');
      expect((await restarted.api.getDeviceConfig(LIVING_ROOM)).config.nightMaxVolumeLimit).to.equal('6');
      expect((await restarted.api.listMyIcons()).map((entry) => entry.mediaId)).to.include(icon.mediaId);
      expect(Buffer.from(await (await fetch(`${second.url}/virtual/media/icons/${icon.mediaId}`)).arrayBuffer()).subarray(0, 6).toString()).to.equal('GIF89a');
      // The saved refresh token is still the live one after the restart.
      await restarted.tokens.refresh();
      expect(second.verifyAccessToken(await restarted.tokens.getAccessToken())).to.equal(true);
      await restarted.close();
    } finally {
      await second.stop();
    }
  });

  it('verifyAccessToken accepts only unexpired tokens it issued (for the broker\'s adapter logins)', async () => {
    broker = await startAedes();
    const clock = new ManualClock();
    const cloud = new VirtualCloud({ port: 0, brokerUrl: broker.url, clock, accessTokenTtlSeconds: 60 });
    await cloud.start();
    try {
      const side = hubSide(cloud.url, path.join(dataDir, 'tokens.json'));
      cleanups.push(() => side.close());
      await signIn(side);
      const token = await side.tokens.getAccessToken();
      expect(cloud.verifyAccessToken(token)).to.equal(true);
      expect(cloud.verifyAccessToken('vat_made-up')).to.equal(false);
      expect(cloud.verifyAccessToken('')).to.equal(false);
      await clock.advance(60_000);
      expect(cloud.verifyAccessToken(token)).to.equal(false);
    } finally {
      await cloud.stop();
    }
  });

  it('refuses to start on a port in use, says which, and leaves nothing running', async () => {
    broker = await startAedes();
    const first = new VirtualCloud({ port: 0, brokerUrl: broker.url });
    await first.start();
    try {
      const clash = new VirtualCloud({ port: first.port, brokerUrl: broker.url });
      const error = await clash.start().catch((e: unknown) => e);
      expect((error as Error).message).to.equal(
        `virtual Yoto cloud could not start: port ${first.port} on 127.0.0.1 is already in use; choose another port for the virtual cloud (0 picks a free one)`,
      );
      expect(clash.fleet.players().every((player) => !player.snapshot().online)).to.equal(true);
    } finally {
      await first.stop();
    }
  });
});
