import { expect } from 'chai';
import mqtt, { type MqttClient } from 'mqtt';
import type { Hub } from '../../server/hub';
import { deviceStateWhere } from '../helpers/device-state';
import { MosquittoBroker } from '../helpers/mosquitto';
import { stopTestHub, startTestHub } from '../helpers/test-hub';
import { finalAddress, startYotoCloudStandIn, type YotoCloudStandIn } from '../helpers/yoto-cloud-stand-in';
import { playbackKnown } from '../helpers/yoto-node-flows';
import { call, onboardAdmin, type SignIn } from './api-world';

type BrokerHealth = { status: string; state: string; behind: boolean; bufferedBytes: number; inFlight: number; eventsDropped: number };

async function brokerHealth(hub: Hub, admin: SignIn): Promise<BrokerHealth> {
  const answer = await call(hub, 'GET', '/api/system/health', admin.accessToken);
  return (answer.json as { components: { broker: BrokerHealth } }).components.broker;
}

/** Resolves once the hub's device model has the player's volume at `percent` (within a step of its 0..16 scale). */
async function volumeHeard(hub: Hub, deviceId: string, percent: number): Promise<void> {
  await deviceStateWhere(hub, deviceId, (state) => Math.abs((state.volume?.percent ?? -100) - percent) < 100 / 16);
}

/** The next retained playback of `deviceId` a fresh house subscriber gets. */
async function retainedPlayback(url: string, deviceId: string): Promise<{ volume?: number }> {
  const house = await mqtt.connectAsync(url);
  try {
    const got = new Promise<{ volume?: number }>((resolve) => house.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString()) as { volume?: number })));
    await house.subscribeAsync(`yoto/${deviceId}/playback`, { qos: 1 });
    return await got;
  } finally {
    await house.endAsync();
  }
}

describe('The hub on a home broker that stops reading (Mosquitto paused), players still talking', function () {
  this.timeout(120_000);
  let standIn: YotoCloudStandIn | undefined;
  let home: MosquittoBroker | undefined;
  let hub: Hub | undefined;
  let house: MqttClient | undefined;

  after(async () => {
    home?.resume();
    await house?.endAsync();
    await stopTestHub(hub);
    await standIn?.stop();
    await home?.stop();
  });

  it('holds back and counts instead of buffering without bound, says so in its health, and publishes each player\'s latest state once the broker reads again', async () => {
    // The players on the Yoto cloud (a stand-in with its own broker), the house on Mosquitto.
    standIn = await startYotoCloudStandIn({ players: 3 });
    home = await MosquittoBroker.start();
    hub = await startTestHub({ ...standIn.settings, brokerUrl: home.url });
    const admin = await onboardAdmin(hub);
    const link = (await call(hub, 'POST', '/api/system/cloud/sign-in', admin.accessToken, {})).json as { url: string };
    const signedIn = await call(hub, 'POST', '/api/system/cloud/sign-in/complete', admin.accessToken, { url: await finalAddress(link.url) });
    expect(signedIn.status, signedIn.text).to.equal(200);
    await hub.cloud.mqtt!.whenConnected();
    const player = standIn.cloud.fleet.players()[0]!;
    const deviceId = player.deviceId;

    // A house subscriber sees the events and the playback while the broker keeps up.
    house = await mqtt.connectAsync(home.url);
    const received: Array<{ topic: string; payload: Record<string, unknown> }> = [];
    let wake: (() => void) | undefined;
    house.on('message', (topic, payload) => {
      received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
      wake?.();
    });
    const arrival = async (found: (message: { topic: string; payload: Record<string, unknown> }) => boolean): Promise<Record<string, unknown>> => {
      for (;;) {
        const message = received.find(found);
        if (message) return message.payload;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    await house.subscribeAsync([`yoto/${deviceId}/events`, `yoto/${deviceId}/playback`], { qos: 1 });
    // Once the hub follows the player, a turn of its wheel is a volume_changed.
    await playbackKnown(hub, deviceId);
    await player.turnVolume(1);
    expect(await arrival((m) => m.payload['type'] === 'volume_changed')).to.include({ device_id: deviceId });
    expect(await brokerHealth(hub, admin)).to.include({ status: 'ok', behind: false, eventsDropped: 0 });

    // The broker stops reading; the player goes on changing its volume until the hub says it is behind.
    home.pause();
    let turns = 0;
    let health = await brokerHealth(hub, admin);
    while (!health.behind) {
      for (let i = 0; i < 200; i++, turns++) await player.turnVolume(turns % 2 === 0 ? 1 : -1);
      health = await brokerHealth(hub, admin);
    }
    // Then more, ending on a volume heard nowhere before: these events are dropped and counted, not buffered.
    for (let i = 0; i < 200; i++, turns++) await player.turnVolume(turns % 2 === 0 ? 1 : -1);
    await player.turnVolume(-5);
    const latest = player.snapshot().volumePercent;
    // The hub still follows the player: its device model gets the latest volume, after all the others.
    await volumeHeard(hub, deviceId, latest);
    health = await brokerHealth(hub, admin);
    expect(health).to.include({ status: 'degraded', state: 'connected', behind: true });
    expect(health.eventsDropped).to.be.at.least(1);
    // What waits for the broker reached one of its bounds (4,000 messages unacknowledged, 1 MiB
    // unwritten) and stays there, give or take the messages of one player's state.
    expect(health.inFlight >= 4000 || health.bufferedBytes > 1024 * 1024, JSON.stringify(health)).to.equal(true);
    expect(health.inFlight).to.be.at.most(4050);
    expect(health.bufferedBytes).to.be.at.most(1024 * 1024 + 64 * 1024);
    const heard = hub.devices.get(deviceId)?.volume?.percent;

    // The broker reads again: the hub writes what waited, then the latest playback, retained.
    const seenBefore = received.length;
    home.resume();
    const playback = await arrival((m) => received.indexOf(m) >= seenBefore && m.topic.endsWith('/playback') && typeof m.payload['volume'] === 'number' && Math.abs((m.payload['volume'] as number) - (heard ?? -100)) < 1);
    expect(playback['volume']).to.be.closeTo(heard ?? -100, 1);
    expect((await retainedPlayback(home.url, deviceId)).volume).to.be.closeTo(heard ?? -100, 1);
    const after = await brokerHealth(hub, admin);
    expect(after).to.include({ status: 'ok', behind: false });
    // Nothing was dropped once the broker read again.
    expect(after.eventsDropped).to.equal(health.eventsDropped);
  });
});
