import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Hub } from '../../server/hub';
import { packageRoot } from '../../server/paths';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { MosquittoBroker, mosquittoPasswordLine } from '../helpers/mosquitto';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];
const ACL_FILE = path.join(packageRoot, 'examples', 'mosquitto', 'acl.conf');

/** The users of the example: the hub, Home Assistant, the kids' tablet, and one the ACL does not list. */
const LOGINS = {
  hub: { username: 'yoto-hub', password: 'hub password for the test' },
  house: { username: 'homeassistant', password: 'house password for the test' },
  kids: { username: 'kids', password: 'kids password for the test' },
  unlisted: { username: 'guest', password: 'guest password for the test' },
} as const;

async function tryConnect(url: string, options: IClientOptions): Promise<MqttClient | Error> {
  try {
    return await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  } catch (error) {
    return error as Error;
  }
}

/**
 * The README's advice for an external broker, checked on a real Mosquitto: `allow_anonymous
 * false`, a password_file and examples/mosquitto/acl.conf as its acl_file, the hub logged in as
 * yoto-hub. What each client may read and publish is checked from outside, as a client of the
 * broker, against what the hub publishes.
 */
describe('examples/mosquitto/acl.conf on a real Mosquitto with the hub on it', function () {
  this.timeout(60_000);
  let mosquitto: MosquittoBroker;
  let hub: Hub | undefined;
  let house: BrokerWatcher;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    const dir = await makeTempDir('mosquitto-acl');
    const passwordFile = path.join(dir, 'passwords');
    fs.writeFileSync(passwordFile, `${Object.values(LOGINS).map((login) => mosquittoPasswordLine(login.username, login.password)).join('\n')}\n`);
    // Started as root, Mosquitto reads the file after dropping to its own user.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(passwordFile, 0o644);
    mosquitto = await MosquittoBroker.start(['allow_anonymous false', `password_file ${passwordFile}`, `acl_file ${ACL_FILE}`]);
    hub = await startTestHub({ brokerUrl: mosquitto.url, brokerUsername: LOGINS.hub.username, brokerPassword: LOGINS.hub.password });
    house = await watcher(['yoto/+/status', 'yoto/+/playback', 'yoto/+/events', 'yoto/+/commands'], LOGINS.house);
    await house.nextOn(`yoto/${KIDS}/status`, (s) => s['online'] === true);
    await house.nextOn(`yoto/${LIVING_ROOM}/status`, (s) => s['online'] === true);
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await stopTestHub(hub);
    await mosquitto?.stop();
    await removeTempDirs();
  });

  async function watcher(filters: string[], login: IClientOptions): Promise<BrokerWatcher> {
    const w = await BrokerWatcher.connect(mosquitto.url, filters, { reconnectPeriod: 0, ...login });
    closers.push(() => w.close());
    return w;
  }

  let roundTrips = 0;
  /**
   * A subscription acknowledged by the broker: Mosquitto handles a client's packets in order, so
   * once the SUBACK is in, every message the broker had for that client before (retained ones on
   * its subscriptions included) has arrived.
   */
  async function roundTrip(client: BrokerWatcher): Promise<void> {
    await client.client.subscribeAsync(`roundtrip/${++roundTrips}`, { qos: 1 });
  }

  /**
   * Publishes as `login` on a connection of its own (MQTT 5, so the broker says why) and expects
   * the broker to refuse it: PUBACK reason 135 "not authorized". Mosquitto drops the message.
   */
  async function expectDenied(login: IClientOptions, topic: string, payload: string, retain = false): Promise<void> {
    const client = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0, protocolVersion: 5, ...login });
    client.on('error', () => undefined); // Mosquitto 2.0 may drop the connection after the refusal
    try {
      const refusal = await client.publishAsync(topic, payload, { qos: 1, retain }).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(refusal?.message, `${String(login.username)} publishing ${topic}`).to.match(/not authorized/i);
    } finally {
      await client.endAsync(true);
    }
  }

  /**
   * Sends a volume command as the house and waits for the hub to complete it on the player: the
   * end-to-end round trip. The house reads yoto/+/commands too, so it also sees every command the
   * broker let through, before its own (the ones sent and acknowledged earlier).
   */
  async function houseSetsVolume(deviceId: string, volume: number): Promise<void> {
    const mark = house.mark;
    await house.publish(`yoto/${deviceId}/commands`, JSON.stringify({ command: 'volume', volume }));
    const done = await house.nextOn(`yoto/${deviceId}/events`, (e) => e['type'] === 'command_completed' || e['type'] === 'command_rejected', mark);
    expect(done).to.include({ type: 'command_completed', command: 'volume' });
  }

  /** The volumes of the commands the broker delivered on yoto/<deviceId>/commands since `mark`. */
  const volumesSince = (mark: number, deviceId: string): unknown[] =>
    house.messages.slice(mark).filter((m) => m.topic === `yoto/${deviceId}/commands`).map((m) => (JSON.parse(m.text) as { volume?: unknown }).volume);

  it('refuses anonymous clients and wrong passwords', async () => {
    expect(await tryConnect(mosquitto.url, {})).to.be.instanceOf(Error);
    expect(await tryConnect(mosquitto.url, { username: LOGINS.house.username, password: 'not the password' })).to.be.instanceOf(Error);
  });

  it('lets the house read every player and command every player: a command round trip through the hub', async () => {
    await houseSetsVolume(LIVING_ROOM, 25);
    await houseSetsVolume(KIDS, 50);
    const reader = await watcher(['yoto/#', 'homeassistant/#'], LOGINS.house);
    await roundTrip(reader);
    const topics = new Set(reader.messages.map((m) => m.topic));
    for (const id of [LIVING_ROOM, KIDS]) {
      expect(topics, `retained state of ${id}`).to.include.members([`yoto/${id}/status`, `yoto/${id}/playback`]);
    }
    expect([...topics].some((topic) => topic.startsWith('homeassistant/')), 'Home Assistant discovery').to.equal(true);
  });

  it('gives a user the ACL does not list nothing: no yoto/, device/ or discovery message, and its commands never reach a player', async () => {
    const unlisted = await watcher(['yoto/#', 'device/#', 'homeassistant/#', '#'], LOGINS.unlisted);
    const mark = house.mark;
    await expectDenied(LOGINS.unlisted, `yoto/${KIDS}/commands`, JSON.stringify({ command: 'volume', volume: 7 }));
    await expectDenied(LOGINS.unlisted, `yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'volume', volume: 8 }));
    await houseSetsVolume(KIDS, 25);
    await houseSetsVolume(LIVING_ROOM, 50);
    await roundTrip(unlisted);
    expect(unlisted.messages.map((m) => m.topic), 'what the unlisted user received').to.deep.equal([]);
    expect(volumesSince(mark, KIDS)).to.deep.equal([25]);
    expect(volumesSince(mark, LIVING_ROOM)).to.deep.equal([50]);
  });

  it('lets the kids\' member read and command only the Kids player', async () => {
    const kids = await watcher(['yoto/#', 'homeassistant/#', 'device/#'], LOGINS.kids);
    await roundTrip(kids);
    const topics = kids.messages.map((m) => m.topic);
    expect(topics, 'their own player').to.include(`yoto/${KIDS}/status`);
    expect(topics.filter((topic) => topic.includes(LIVING_ROOM) || topic.startsWith('device/')), 'another player, or the Yoto side').to.deep.equal([]);

    let mark = house.mark;
    await kids.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'volume', volume: 30 }));
    const done = await house.nextOn(`yoto/${KIDS}/events`, (e) => e['type'] === 'command_completed' || e['type'] === 'command_rejected', mark);
    expect(done).to.include({ type: 'command_completed', command: 'volume' });
    expect(volumesSince(mark, KIDS)).to.deep.equal([30]);

    mark = house.mark;
    await expectDenied(LOGINS.kids, `yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'volume', volume: 9 }));
    await houseSetsVolume(LIVING_ROOM, 25);
    expect(volumesSince(mark, LIVING_ROOM)).to.deep.equal([25]);
  });

  it('lets only the hub publish yoto/<id>/status and device/...: spoofs by the house, the member and an unlisted user never reach a reader', async () => {
    const spoof = JSON.stringify({ online: false, spoofed: true });
    for (const login of [LOGINS.house, LOGINS.kids, LOGINS.unlisted]) {
      for (const id of [KIDS, LIVING_ROOM]) {
        await expectDenied(login, `yoto/${id}/status`, spoof, true);
        await expectDenied(login, `yoto/${id}/playback`, JSON.stringify({ spoofed: true }), true);
        await expectDenied(login, `yoto/${id}/events`, JSON.stringify({ type: 'button_pressed', spoofed: true }));
        await expectDenied(login, `device/${id}/data/status`, JSON.stringify({ status: { batteryLevel: 1 } }));
      }
    }
    // The retained state a newcomer gets is still the hub's.
    const fresh = await watcher(['yoto/+/status', 'yoto/+/playback'], LOGINS.house);
    await roundTrip(fresh);
    expect(fresh.messages.length, 'retained status and playback of both players').to.be.at.least(4);
    for (const message of fresh.messages) expect(JSON.parse(message.text), message.topic).to.not.have.property('spoofed');
    // The hub saw no spoofed device data and still runs its players end to end.
    expect(hub!.devices.get(KIDS)?.online).to.equal(true);
    expect(hub!.broker.status).to.equal('connected');
    await houseSetsVolume(KIDS, 50);
  });
});
