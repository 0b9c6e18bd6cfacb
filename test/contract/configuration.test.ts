import { expect } from 'chai';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { MosquittoBroker } from '../helpers/mosquitto';
import { call, KIDS_BEDROOM, LIVING_ROOM } from './client';
import { useProduct, type Product } from './product';

/** The README's configuration table, set as a user sets it: environment variables of npm start. */
describe('contract: npm start configured by environment variables', function () {
  this.timeout(60_000);
  let mosquitto: MosquittoBroker | undefined;
  let product: Product;
  let token: string;

  before(async () => {
    mosquitto = await MosquittoBroker.start();
  });
  const running = useProduct(() => ({
    env: {
      NODE_RED_HOST: '127.0.0.1',
      YOTO_HUB_HOST: '127.0.0.1',
      YOTO_BROKER_URL: mosquitto!.url,
      YOTO_LOG_LEVEL: 'debug',
      YOTO_CLOUD: 'auto',
      YOTO_CLIENT_ID: 'contract-client-id',
      YOTO_PUBLIC_URL: 'https://yoto.contract.test',
    },
  }));
  // After the product's own after hook: the hub stops before its broker does.
  after(async () => {
    await mosquitto?.stop();
  });
  before(() => {
    product = running.product();
    token = running.token();
  });

  it('YOTO_BROKER_URL: the hub uses that broker (no embedded one) and publishes the players there', async () => {
    await product.line(/Home broker\s+mqtt:\/\/127\.0\.0\.1:\d+$/);
    const health = await call<{ components: { broker: { status: string } } }>(`${product.hubUrl}/api/system/health`, { token });
    expect(health.body.components.broker.status).to.equal('ok');
    const house = await BrokerWatcher.connect(mosquitto!.url, ['yoto/+/status']);
    try {
      for (const id of [LIVING_ROOM, KIDS_BEDROOM]) await house.next((m) => m.topic === `yoto/${id}/status` && m.retain);
    } finally {
      await house.close();
    }
    const embedded = await fetch(`http://127.0.0.1:${product.brokerPort}`).then(() => true, () => false);
    expect(embedded, 'nothing listens on the embedded broker port').to.equal(false);
  });

  it('YOTO_CLIENT_ID with YOTO_CLOUD=auto: the virtual players until signed in, and a sign-in link in health', async () => {
    const health = await call<{ components: { cloud: { signInUrl?: string } } }>(`${product.hubUrl}/api/system/health`, { token });
    expect(health.body.components.cloud.signInUrl).to.match(/client_id=contract-client-id/);
    const devices = await call<{ items?: Array<{ deviceId: string }>; devices?: Array<{ deviceId: string }> }>(`${product.hubUrl}/api/devices`, { token });
    expect((devices.body.items ?? devices.body.devices ?? []).length, 'the three players of the default virtual fleet').to.equal(3);
    const prompts = product.output.filter((line) => /open this link/i.test(line));
    expect(prompts, 'the log asks once, with the link to open').to.have.length(1);
    expect(prompts[0]).to.match(/sign in to the Yoto cloud.*client_id=contract-client-id/);
  });

  it('YOTO_PUBLIC_URL is the address the hub gives players; YOTO_LOG_LEVEL=debug writes debug lines', async () => {
    const config = await call<{ config: { http: { publicUrl?: string } } }>(`${product.hubUrl}/api/system/config`, { token });
    expect(config.body.config.http.publicUrl).to.equal('https://yoto.contract.test');
    expect(product.output.some((line) => /\[debug\]/.test(line))).to.equal(true);
  });
});
