import * as net from 'node:net';
import { expect } from 'chai';
import mqtt from 'mqtt';
import type { Hub } from '../../server/hub';
import type { HealthReport } from '../../server/system/health';
import { startAedes } from '../helpers/aedes-broker';
import { freePort, freePorts, isListening } from '../helpers/free-port';
import { hooked } from '../helpers/hooked';
import { MosquittoBroker } from '../helpers/mosquitto';
import { describeLeaks, ResourceTracker } from '../helpers/resource-tracker';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { adminHealth } from '../helpers/admin-health';

/** The whole health report, as an admin sees it. */
function getHealth(hub: Hub): Promise<{ status: number; body: HealthReport }> {
  return adminHealth(hub.url);
}


describe('Hub', function () {
  let hub: Hub | undefined;
  afterEach(async () => {
    await stopTestHub(hub);
    hub = undefined;
  });

  describe('on the embedded Aedes broker', () => {
    it('reports every component in /api/system/health with the broker connected', async () => {
      hub = await startTestHub();
      const { status, body } = await getHealth(hub);
      expect(status).to.equal(200);
      expect(body.status).to.equal('ok');
      expect(body.components.broker).to.include({ status: 'ok', state: 'connected', embedded: true });
      expect(body.components.store.status).to.equal('ok');
      expect(body.components.http.status).to.equal('ok');
      expect(body.components.cloud).to.include({ status: 'ok', state: 'running', mode: 'auto', active: 'virtual' });
      expect(body.components.cloud['mqtt'], 'the default virtual fleet: three players').to.include({ state: 'connected', devices: 3 });
    });

    it('lets other MQTT clients of the house use the embedded broker', async () => {
      hub = await startTestHub();
      const brokerUrl = hub.broker.url;
      const received = new Promise<string>((resolve) => {
        const unsubscribe = hub!.broker.subscribe('house/lights/+', (_topic, payload) => {
          unsubscribe();
          resolve(payload.toString());
        });
      });
      const client = await mqtt.connectAsync(brokerUrl);
      // The hub's subscription is in place once its SUBACK has come back; a retained message removes the race.
      await client.publishAsync('house/lights/hall', 'on', { qos: 1, retain: true });
      expect(await received).to.equal('on');
      await client.endAsync();
    });

    it('releases both ports on stop, so a new hub can take them at once', async () => {
      const [httpPort, brokerPort] = (await freePorts(2)) as [number, number];
      for (let round = 0; round < 3; round++) {
        hub = await startTestHub({ httpPort, embeddedBrokerPort: brokerPort });
        expect((await getHealth(hub)).status).to.equal(200);
        await stopTestHub(hub);
        hub = undefined;
        expect(await isListening(httpPort)).to.equal(false);
        expect(await isListening(brokerPort)).to.equal(false);
      }
    });

    it('leaves no socket, server or timer behind after stop', async () => {
      const tracker = ResourceTracker.start();
      try {
        hub = await startTestHub();
        await getHealth(hub);
        await stopTestHub(hub);
        hub = undefined;
        const leaks = await tracker.leaked();
        expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
      } finally {
        tracker.stop();
      }
    });

    it('fails to start with a clear message when its port is taken, and frees what it had opened', async () => {
      const occupier = net.createServer();
      await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
      const takenPort = (occupier.address() as net.AddressInfo).port;
      const brokerPort = await freePort();
      const tracker = ResourceTracker.start();
      let error: Error | undefined;
      try {
        await startTestHub({ httpPort: takenPort, embeddedBrokerPort: brokerPort });
      } catch (e) {
        error = e as Error;
      }
      const leaks = await tracker.leaked();
      tracker.stop();
      await new Promise<void>((resolve) => occupier.close(() => resolve()));
      expect(error?.message).to.match(/hub server could not start: port \d+ on 127\.0\.0\.1 is already in use/);
      expect(await isListening(brokerPort)).to.equal(false);
      expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
    });

    it('answers unknown API routes and malformed JSON with JSON errors', async () => {
      hub = await startTestHub();
      const missing = await fetch(`${hub.url}/api/nothing-here`);
      expect(missing.status).to.equal(404);
      expect(await missing.json()).to.deep.equal({ error: { code: 'not_found', message: 'API route not found', details: [] } });
      const malformed = await fetch(`${hub.url}/api/system/health`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"oops' });
      expect(malformed.status).to.equal(400);
      expect(((await malformed.json()) as { error: { code: string } }).error.code).to.equal('invalid_json');
    });

    it('serves the panel start page at /', async () => {
      hub = await startTestHub();
      const response = await fetch(`${hub.url}/`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/text\/html/);
      expect(await response.text()).to.include('<yoto-app>');
    });
  });

  describe('on a real Mosquitto broker', () => {
    let mosquitto: MosquittoBroker;
    before(async () => {
      mosquitto = await MosquittoBroker.start();
    });
    after(async () => {
      await mosquitto.stop();
    });

    it('reaches "connected" and reports the external broker in its health', async () => {
      hub = await startTestHub({ brokerUrl: mosquitto.url });
      const { body } = await getHealth(hub);
      expect(body.components.broker).to.include({ status: 'ok', state: 'connected', embedded: false, url: mosquitto.url });
    });

    it('reports the broker down while Mosquitto is killed and reconnects with its subscriptions when it is back', async () => {
      hub = await startTestHub({ brokerUrl: mosquitto.url });
      const lost = new Promise<void>((resolve) => hub!.once('broker-status', () => resolve()));
      await mosquitto.kill('SIGKILL');
      await lost;
      const { status, body } = await getHealth(hub);
      expect(status).to.equal(503);
      expect(body.components.broker.status).to.equal('degraded');

      const messages: string[] = [];
      hub.broker.subscribe('yoto/test/after-restart', (_t, payload) => messages.push(payload.toString()));
      await mosquitto.launch();
      await hub.broker.whenConnected();
      const client = await mqtt.connectAsync(mosquitto.url);
      const got = new Promise<void>((resolve) => hub!.broker.subscribe('yoto/test/after-restart', () => resolve()));
      await client.publishAsync('yoto/test/after-restart', 'hello', { qos: 1, retain: true });
      await got;
      await client.endAsync();
      expect(messages).to.include('hello');
      expect((await getHealth(hub)).body.components.broker.state).to.equal('connected');
    });
  });

  describe('on an external Aedes broker', () => {
    const aedes = hooked('suite', startAedes, (broker) => broker.stop());

    it('reaches "connected"', async () => {
      hub = await startTestHub({ brokerUrl: aedes.url });
      const { body } = await getHealth(hub);
      expect(body.components.broker).to.include({ state: 'connected', embedded: false });
    });
  });
});
