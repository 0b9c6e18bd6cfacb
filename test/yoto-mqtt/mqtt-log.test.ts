import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { mqttLogOption } from '../../server/yoto/mqtt/mqtt-log';
import { MosquittoBroker } from '../helpers/mosquitto';

const run = promisify(execFile);

describe("mqtt.js's logging in the hub's MQTT clients", function () {
  this.timeout(20_000);
  let broker: MosquittoBroker;
  before(async () => {
    broker = await MosquittoBroker.start();
  });
  after(async () => {
    await broker?.stop();
  });

  /** The home broker client connected once and stopped, in a process of its own with `env`: what it wrote to stderr. */
  async function stderrOfHomeBrokerClient(env: NodeJS.ProcessEnv): Promise<string> {
    const client = path.join(__dirname, '..', '..', 'server', 'broker', 'home-broker-client.js');
    const logger = path.join(__dirname, '..', '..', 'server', 'log', 'logger.js');
    const script = `const { HomeBrokerClient } = require(${JSON.stringify(client)});
      const { silentLogger } = require(${JSON.stringify(logger)});
      const c = new HomeBrokerClient(${JSON.stringify(broker.url)}, {}, false, silentLogger);
      c.start();
      c.whenConnected().then(() => c.stop());`;
    const { stderr } = await run(process.execPath, ['-e', script], { env: { PATH: process.env['PATH'], ...env } });
    return stderr;
  }

  it('logs nothing by default, and logs as mqtt.js documents with DEBUG=mqttjs*', async () => {
    expect(await stderrOfHomeBrokerClient({})).to.equal('');
    expect(await stderrOfHomeBrokerClient({ DEBUG: 'mqttjs*' })).to.match(/mqttjs:client connect/);
  });

  it('gives mqtt.js a logger that does nothing unless DEBUG is set', () => {
    const quiet = mqttLogOption({});
    expect(quiet.log).to.be.a('function');
    expect(quiet.log?.('mqttjs:client', 'publish')).to.equal(undefined);
    expect(mqttLogOption({ DEBUG: 'mqttjs*' })).to.deep.equal({});
  });
});
