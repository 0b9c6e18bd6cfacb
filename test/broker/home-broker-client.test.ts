import { expect } from 'chai';
import mqtt, { type MqttClient } from 'mqtt';
import { HomeBrokerClient } from '../../server/broker/home-broker-client';
import { silentLogger } from '../../server/log/logger';
import { MosquittoBroker } from '../helpers/mosquitto';

describe('home broker client on Mosquitto', function () {
  this.timeout(20_000);
  let broker: MosquittoBroker;
  let client: HomeBrokerClient;
  let house: MqttClient;

  before(async () => {
    broker = await MosquittoBroker.start();
    client = new HomeBrokerClient(broker.url, {}, false, silentLogger);
    client.start();
    await client.whenConnected();
    house = await mqtt.connectAsync(broker.url);
    await house.subscribeAsync('yoto/test/#', { qos: 1 });
  });

  after(async () => {
    await house?.endAsync();
    await client?.stop();
    await broker?.stop();
  });

  it('publishes the bridge\'s messages in order, each confirmed once the broker has it, and counts them', async () => {
    const received: string[] = [];
    const allIn = new Promise<void>((resolve) => {
      house.on('message', (topic, payload) => {
        received.push(`${topic} ${payload.toString()}`);
        if (received.length === 50) resolve();
      });
    });
    const confirmed: Array<Promise<void>> = [];
    // As the bridge publishes while the hub takes in the player messages of one read: one per tick.
    await new Promise<void>((resolve) => {
      const post = (i: number): void => {
        confirmed.push(new Promise<void>((done, fail) => client.post(`yoto/test/${i}`, `{"n":${i}}`, i % 2 === 0, (error) => (error ? fail(error) : done()))));
        if (i < 49) process.nextTick(post, i + 1);
        else resolve();
      };
      post(0);
    });
    await Promise.all(confirmed);
    await allIn;
    expect(received).to.deep.equal(Array.from({ length: 50 }, (_, i) => `yoto/test/${i} {"n":${i}}`));
    expect(client.health()).to.include({ messagesOut: 50, behind: false });
    expect(client.health().bufferedBytes).to.be.below(64 * 1024);
  });

  it('publishes at once a message of a turn of its own, and after stop() answers that it is not started', async () => {
    const got = new Promise<string>((resolve) => house.once('message', (_topic, payload) => resolve(payload.toString())));
    await client.publish('yoto/test/single', 'one');
    expect(await got).to.equal('one');
    await client.stop();
    const refused = await new Promise<Error | undefined>((resolve) => client.post('yoto/test/late', 'late', false, resolve));
    expect(refused?.message).to.equal('home broker client is not started');
  });
});
