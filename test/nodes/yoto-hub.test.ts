import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Node } from 'node-red';
import type { YotoHubNode } from '../../nodes/shared/yoto-hub-node';
import type { TestFlows } from 'node-red-node-test-helper';
import { freePort, freePorts, isListening } from '../helpers/free-port';
import { MosquittoBroker } from '../helpers/mosquitto';
import { describeLeaks, ResourceTracker } from '../helpers/resource-tracker';
import { initNodeRedHelper, nodeRedVersion, withLocale } from '../helpers/node-red';
import { finalAddress, startYotoCloudStandIn } from '../helpers/yoto-cloud-stand-in';
import { DEFAULT_SCOPES } from '../../server/yoto/auth/scopes';
import { adminHealth } from '../helpers/admin-health';

// The compiled node, as Node-RED loads it from package.json's node-red.nodes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yotoHubNode = withLocale(require('../../nodes/yoto-hub/yoto-hub') as (RED: unknown) => void, 'yoto-hub');

const helper = initNodeRedHelper();

function hubFlow(settings: Record<string, string>): TestFlows {
  const hub = { id: 'hub1', type: 'yoto-hub', name: 'Test hub', logLevel: 'warn', ...settings };
  return [hub];
}

async function runningHub(node: YotoHubNode): Promise<NonNullable<YotoHubNode['hub']>> {
  const hub = node.hub;
  if (!hub) throw new Error('the node has no hub');
  if (hub.state !== 'running') await new Promise<void>((resolve) => hub.on('state', (s) => s === 'running' && resolve()));
  await hub.broker.whenConnected();
  return hub;
}


describe(`yoto-hub node (Node-RED ${nodeRedVersion()})`, function () {
  let dataDir: string;
  let httpPort: number;
  let brokerPort: number;
  let virtualCloudPort: number;

  before(async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
  });
  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-node-test-'));
    [httpPort, brokerPort, virtualCloudPort] = (await freePorts(3)) as [number, number, number];
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function settings(extra: Record<string, string> = {}): Record<string, string> {
    return { httpPort: String(httpPort), embeddedBrokerPort: String(brokerPort), virtualCloudPort: String(virtualCloudPort), dataDir, ...extra };
  }

  it('starts a hub whose health page answers on the configured port', async () => {
    await helper.load(yotoHubNode, hubFlow(settings()));
    const hub = await runningHub(helper.getNode('hub1') as unknown as YotoHubNode);
    const { status, body: health } = await adminHealth(`http://127.0.0.1:${httpPort}`);
    expect(status).to.equal(200);
    expect(health.components.broker).to.include({ state: 'connected', embedded: true });
    expect(health.components.store).to.include({ dataDir });
    expect(hub.url).to.equal(`http://127.0.0.1:${httpPort}`);
  });

  it('fans its connection state out to the nodes registered with it', async () => {
    await helper.load(yotoHubNode, hubFlow(settings()));
    const hubNode = helper.getNode('hub1') as unknown as YotoHubNode;
    await runningHub(hubNode);
    const statuses: unknown[] = [];
    const user = { id: 'user1', status: (s: unknown) => statuses.push(s) } as unknown as Node;
    hubNode.register(user);
    expect(statuses.at(-1)).to.deep.include({ fill: 'green', shape: 'dot', text: 'connected' });
    hubNode.deregister(user);
  });

  it('connects to an external Mosquitto broker with credentials kept out of the flow', async () => {
    const mosquitto = await MosquittoBroker.start();
    try {
      const flow = hubFlow(settings({ brokerUrl: mosquitto.url }));
      await helper.load(yotoHubNode, flow, { hub1: { brokerUsername: 'house', brokerPassword: 'secret' } });
      const hub = await runningHub(helper.getNode('hub1') as unknown as YotoHubNode);
      expect(hub.health().components.broker).to.include({ embedded: false, url: mosquitto.url });
      expect(hub.options.broker).to.include({ username: 'house', password: 'secret' });
      expect(JSON.stringify(flow)).to.not.include('secret');
      expect(await isListening(brokerPort)).to.equal(false);
    } finally {
      await helper.unload();
      await mosquitto.stop();
    }
  });

  it('gives the editor\'s "Sign in with Yoto" button the Yoto login link, and says when no client id is set', async () => {
    const saved = process.env['YOTO_SIGNIN_PORT'];
    process.env['YOTO_SIGNIN_PORT'] = String(await freePort());
    try {
      await helper.load(yotoHubNode, hubFlow(settings({ clientId: 'my-yoto-client', cloudMode: 'auto' })));
      const hub = await runningHub(helper.getNode('hub1') as unknown as YotoHubNode);
      expect(hub.cloud.active, 'it runs the virtual cloud until the sign-in completes').to.equal('virtual');
      const answer = await helper.request().post('/yoto-hub/hub1/sign-in').expect(200);
      const link = new URL((answer.body as { url: string }).url);
      expect(link.origin + link.pathname).to.equal('https://login.yotoplay.com/authorize');
      expect(link.searchParams.get('client_id')).to.equal('my-yoto-client');
      expect(link.searchParams.get('code_challenge_method')).to.equal('S256');
      expect(link.searchParams.get('redirect_uri')).to.equal(`http://127.0.0.1:${process.env['YOTO_SIGNIN_PORT']}/callback`);
      await helper.unload();

      await helper.load(yotoHubNode, hubFlow(settings()));
      await runningHub(helper.getNode('hub1') as unknown as YotoHubNode);
      const refused = await helper.request().post('/yoto-hub/hub1/sign-in').expect(409);
      expect((refused.body as { error: { message: string } }).error.message).to.equal('Set a Yoto client id (and deploy) before signing in');
      await helper.request().post('/yoto-hub/nope/sign-in').expect(404);
    } finally {
      if (saved === undefined) delete process.env['YOTO_SIGNIN_PORT'];
      else process.env['YOTO_SIGNIN_PORT'] = saved;
    }
  });

  it('finishes a headless sign-in from the address pasted in the editor, and explains a wrong or stale one', async () => {
    const standIn = await startYotoCloudStandIn();
    const env = { YOTO_SIGNIN_PORT: String(await freePort()), YOTO_AUTH_URL: standIn.settings.yotoAuthUrl, YOTO_API_URL: standIn.settings.yotoApiUrl, YOTO_MQTT_URL: standIn.settings.yotoMqttUrl };
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    try {
      await helper.load(yotoHubNode, hubFlow(settings({ clientId: standIn.settings.clientId, cloudMode: 'yoto' })));
      const node = helper.getNode('hub1') as unknown as YotoHubNode;
      const hub = node.hub!;
      if (hub.state !== 'running') await new Promise<void>((resolve) => hub.on('state', (s) => s === 'running' && resolve()));
      const first = (await helper.request().post('/yoto-hub/hub1/sign-in').send({}).expect(200)).body as { url: string; scopes: string[] };
      expect(new URL(first.url).searchParams.get('scope')).to.equal(DEFAULT_SCOPES.join(' '));
      const stale = await finalAddress(first.url);

      const wrong = await helper.request().post('/yoto-hub/hub1/sign-in/complete').send({ url: 'not an address' }).expect(400);
      expect((wrong.body as { error: { code: string } }).error.code).to.equal('invalid_address');
      await helper.request().post('/yoto-hub/hub1/sign-in/complete').send({}).expect(400);
      const fresh = (await helper.request().post('/yoto-hub/hub1/sign-in').send({ fresh: true }).expect(200)).body as { url: string };
      expect(fresh.url).to.not.equal(first.url);
      const old = await helper.request().post('/yoto-hub/hub1/sign-in/complete').send({ url: stale }).expect(400);
      expect((old.body as { error: { code: string; message: string } }).error).to.include({ code: 'stale_address' });

      const done = await helper.request().post('/yoto-hub/hub1/sign-in/complete').send({ url: await finalAddress(fresh.url) }).expect(200);
      expect(done.body).to.include({ signedIn: true, active: 'yoto' });
      expect(hub.cloud.active).to.equal('yoto');
      await helper.request().post('/yoto-hub/nope/sign-in/complete').send({ url: 'x' }).expect(404);
    } finally {
      await helper.unload();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await standIn.stop();
    }
  });

  it('reports invalid settings as a node error instead of crashing', async () => {
    await helper.load(yotoHubNode, hubFlow(settings({ httpPort: '70000' })));
    const hubNode = helper.getNode('hub1') as unknown as YotoHubNode;
    expect(hubNode.hub).to.equal(undefined);
    const errors = helper.log().args.filter((args: unknown[]) => (args[0] as { level?: number }).level === 20);
    expect(errors.map((args: unknown[]) => String((args[0] as { msg: unknown }).msg)).join('\n')).to.match(/hub port must be a port number from 0 to 65535, got "70000"/);
  });

  it('survives 20 full redeploys on the same ports and leaves nothing behind', async () => {
    const tracker = ResourceTracker.start();
    await helper.load(yotoHubNode, hubFlow(settings()));
    let previous = await runningHub(helper.getNode('hub1') as unknown as YotoHubNode);
    for (let deploy = 0; deploy < 20; deploy++) {
      await helper.setFlows(hubFlow(settings({ name: `deploy ${deploy}` })), 'full');
      const hub = await runningHub(helper.getNode('hub1') as unknown as YotoHubNode);
      expect(hub).to.not.equal(previous);
      expect(previous.state).to.equal('stopped');
      const response = await fetch(`http://127.0.0.1:${httpPort}/api/system/health`);
      expect(response.status).to.equal(200);
      previous = hub;
    }
    await helper.unload();
    expect(await isListening(httpPort)).to.equal(false);
    expect(await isListening(brokerPort)).to.equal(false);
    const leaks = await tracker.leaked();
    tracker.stop();
    expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
  });
});
