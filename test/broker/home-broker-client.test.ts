import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import mqtt from 'mqtt';
import { HomeBrokerClient } from '../../server/broker/home-broker-client';
import { silentLogger } from '../../server/log/logger';
import { mqttLogOption } from '../../server/yoto/mqtt/mqtt-log';
import { hooked } from '../helpers/hooked';
import { MosquittoBroker } from '../helpers/mosquitto';

const run = promisify(execFile);

/** A started home broker client on `url`, connected. */
async function connectedClient(url: string): Promise<HomeBrokerClient> {
  const client = new HomeBrokerClient(url, {}, false, silentLogger);
  client.start();
  await client.whenConnected();
  return client;
}

describe('home broker client on Mosquitto', function () {
  this.timeout(20_000);
  const broker = hooked('suite', () => MosquittoBroker.start(), (started) => started.stop());
  const client = hooked('test', () => connectedClient(broker.url), (started) => started.stop());
  const house = hooked('test', () => mqtt.connectAsync(broker.url), (started) => started.endAsync());

  it('publishes the bridge\'s messages in order, each confirmed once the broker has it, and counts them', async () => {
    await house.subscribeAsync('yoto/test/#', { qos: 1 });
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
    expect(client.health()).to.include({ messagesOut: 50, inFlight: 0, behind: false });
    expect(client.health().bufferedBytes).to.be.below(64 * 1024);
  });

  it('publishes at once a message of a turn of its own, and after stop() answers that it is not started', async () => {
    await house.subscribeAsync('yoto/test/single', { qos: 1 });
    const got = new Promise<string>((resolve) => house.once('message', (_topic, payload) => resolve(payload.toString())));
    await client.publish('yoto/test/single', 'one');
    expect(await got).to.equal('one');
    await client.stop();
    const refused = await new Promise<Error | undefined>((resolve) => client.post('yoto/test/late', 'late', false, resolve));
    expect(refused?.message).to.equal('home broker client is not started');
  });

  /** The client connected once and stopped, in a process of its own with `env`: what it wrote to stderr. */
  async function stderrOfClientProcess(env: NodeJS.ProcessEnv): Promise<string> {
    const module = path.join(__dirname, '..', '..', 'server', 'broker', 'home-broker-client.js');
    const logger = path.join(__dirname, '..', '..', 'server', 'log', 'logger.js');
    const script = `const { HomeBrokerClient } = require(${JSON.stringify(module)});
      const { silentLogger } = require(${JSON.stringify(logger)});
      const c = new HomeBrokerClient(${JSON.stringify(broker.url)}, {}, false, silentLogger);
      c.start();
      c.whenConnected().then(() => c.stop());`;
    const { stderr } = await run(process.execPath, ['-e', script], { env: { PATH: process.env['PATH'], ...env } });
    return stderr;
  }

  it("logs nothing of mqtt.js's by default, and every packet as mqtt.js documents with DEBUG=mqttjs*", async () => {
    expect(await stderrOfClientProcess({})).to.equal('');
    expect(await stderrOfClientProcess({ DEBUG: 'mqttjs*' })).to.match(/mqttjs:client connect/);
    // The hub's MQTT clients all take this option: a logger that does nothing unless DEBUG is set.
    expect(mqttLogOption({}).log?.('mqttjs:client', 'publish')).to.equal(undefined);
    expect(mqttLogOption({ DEBUG: 'mqttjs*' })).to.deep.equal({});
  });
});
