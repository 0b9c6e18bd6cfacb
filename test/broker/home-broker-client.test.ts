import * as net from 'node:net';
import { expect } from 'chai';
import mqtt, { type MqttClient } from 'mqtt';
import { HomeBrokerClient } from '../../server/broker/home-broker-client';
import { silentLogger } from '../../server/log/logger';
import { MosquittoBroker } from '../helpers/mosquitto';

/** Counts the writes (each one system call) of this process's sockets to `port`, on the real net.Socket. */
function countWritesTo(port: number): { count: () => number; restore: () => void } {
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (this: net.Socket, ...args: unknown[]) => unknown>;
  const originals = { _write: proto._write, _writev: proto._writev };
  let writes = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    proto[name] = function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === port) writes++;
      return original.apply(this, args);
    };
  }
  return {
    count: () => writes,
    restore: () => Object.assign(proto, originals),
  };
}

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

  it('writes the messages of one turn of the event loop together, in order, even when each is published on a tick of its own', async () => {
    const received: string[] = [];
    const allIn = new Promise<void>((resolve) => {
      house.on('message', (topic, payload) => {
        received.push(`${topic} ${payload.toString()}`);
        if (received.length === 50) resolve();
      });
    });
    const writes = countWritesTo(broker.port);
    const confirmed: Array<Promise<void>> = [];
    try {
      // As the bridge publishes while the hub takes in the player messages of one read: one per tick.
      await new Promise<void>((resolve) => {
        const post = (i: number): void => {
          confirmed.push(new Promise<void>((done, fail) => client.post(`yoto/test/${i}`, `{"n":${i}}`, i % 2 === 0, (error) => (error ? fail(error) : done()))));
          if (i < 49) process.nextTick(post, i + 1);
          else setImmediate(resolve);
        };
        post(0);
      });
      // The end of that turn: the fifty went out in one write.
      expect(writes.count()).to.equal(1);
    } finally {
      writes.restore();
    }
    await Promise.all(confirmed);
    await allIn;
    expect(received).to.deep.equal(Array.from({ length: 50 }, (_, i) => `yoto/test/${i} {"n":${i}}`));
    expect(client.health().messagesOut).to.equal(50);
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
