import { expect } from 'chai';
import mqtt, { type MqttClient } from 'mqtt';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { startAedes } from '../helpers/aedes-broker';

/** The embedded broker's retained messages (its own index, not Aedes's list) as MQTT clients see them. */
describe('embedded broker: retained messages', function () {
  let broker: EmbeddedBroker;
  const clients: MqttClient[] = [];

  before(async () => {
    broker = await startAedes();
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync()));
    await broker.stop();
  });

  async function connect(): Promise<MqttClient> {
    const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(client);
    return client;
  }

  /**
   * Subscribes a fresh client to `filter` and answers the retained messages it got once `count` have
   * come and a message published after the SUBSCRIBE has too (Aedes streams the retained messages
   * after its SUBACK, so that marker alone does not prove they are all in).
   */
  async function retainedFor(filter: string, count: number): Promise<Record<string, string>> {
    const client = await connect();
    const got: Record<string, string> = {};
    const marker = `marker/${Math.random().toString(36).slice(2)}`;
    let markerSeen = false;
    const done = new Promise<void>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (topic === marker) markerSeen = true;
        else if (packet.retain) got[topic] = payload.toString();
        if (markerSeen && Object.keys(got).length >= count) resolve();
      });
    });
    await client.subscribeAsync(filter, { qos: 1 });
    await client.subscribeAsync(marker, { qos: 1 });
    await client.publishAsync(marker, 'end', { qos: 1 });
    await done;
    return got;
  }

  it('answers a SUBSCRIBE with the retained messages its filter matches: exact topics, + and #, never a $ topic for a leading wildcard; an empty payload clears one', async () => {
    const publisher = await connect();
    const retained: Array<[string, string]> = [
      ['yoto/a/status', 'a-status'],
      ['yoto/a/playback', 'a-playback'],
      ['yoto/b/status', 'b-status'],
      ['yoto', 'root'],
      ['$house/notice', 'dollar'],
      ['homeassistant/sensor/a/config', 'config'],
    ];
    for (const [topic, payload] of retained) await publisher.publishAsync(topic, payload, { qos: 1, retain: true });
    await publisher.publishAsync('yoto/a/events', 'not retained', { qos: 1 });

    expect(await retainedFor('yoto', 1)).to.deep.equal({ yoto: 'root' });
    expect(await retainedFor('yoto/a/status', 1)).to.deep.equal({ 'yoto/a/status': 'a-status' });
    expect(await retainedFor('yoto/+/status', 2)).to.deep.equal({ 'yoto/a/status': 'a-status', 'yoto/b/status': 'b-status' });
    expect(await retainedFor('yoto/#', 3)).to.deep.equal({ 'yoto/a/status': 'a-status', 'yoto/a/playback': 'a-playback', 'yoto/b/status': 'b-status' });
    expect(await retainedFor('#', 5), 'everything but the $ topic').to.deep.equal({
      yoto: 'root',
      'yoto/a/status': 'a-status',
      'yoto/a/playback': 'a-playback',
      'yoto/b/status': 'b-status',
      'homeassistant/sensor/a/config': 'config',
    });
    expect(await retainedFor('$house/+', 1)).to.deep.equal({ '$house/notice': 'dollar' });
    expect(await retainedFor('yoto/nobody/status', 0)).to.deep.equal({});

    await publisher.publishAsync('yoto/a/status', '', { qos: 1, retain: true });
    await publisher.publishAsync('yoto/b/status', 'b-later', { qos: 1, retain: true });
    expect(await retainedFor('yoto/+/status', 1)).to.deep.equal({ 'yoto/b/status': 'b-later' });
  });
});
