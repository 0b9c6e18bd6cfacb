import { expect } from 'chai';
import mqtt from 'mqtt';
import type { Hub } from '../../server/hub';
import type { SignInStatus } from '../../server/cloud/cloud-connection';
import { DEFAULT_SCOPES } from '../../server/yoto/auth/scopes';
import { mqttUsername } from '../../server/yoto/protocol';
import { call, onboardAdmin, type SignIn } from '../hub/api-world';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { appAccessToken, finalAddress, startYotoCloudStandIn, type YotoCloudStandIn } from '../helpers/yoto-cloud-stand-in';
import { YotoMqttClient } from '../../server/yoto/mqtt';
import { BrokerWatcher } from '../helpers/broker-watcher';

/** Resolves once the hub's model shows every listed player playing `cardId` (its registry's state events, no polling). */
function allPlaying(hub: Hub, deviceIds: string[], cardId: string): Promise<void> {
  const playing = (id: string): boolean => hub.devices.get(id)?.playback.cardId === cardId && hub.devices.get(id)?.playback.state === 'playing';
  if (deviceIds.every(playing)) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = hub.devices.bus.on('real-cloud-test', 'state', () => {
      if (!deviceIds.every(playing)) return;
      stop();
      resolve();
    });
  });
}

async function signInLink(hub: Hub, admin: SignIn, fresh = false): Promise<SignInStatus> {
  const answer = await call(hub, 'POST', '/api/system/cloud/sign-in', admin.accessToken, { fresh });
  expect(answer.status, answer.text).to.equal(200);
  return answer.json as SignInStatus;
}

async function paste(hub: Hub, admin: SignIn, url: string): Promise<{ status: number; json: { error?: { code: string; message: string } } & Partial<SignInStatus> }> {
  const answer = await call(hub, 'POST', '/api/system/cloud/sign-in/complete', admin.accessToken, { url });
  return { status: answer.status, json: answer.json as { error?: { code: string; message: string } } & Partial<SignInStatus> };
}

describe('The real Yoto cloud (a virtual cloud standing in, with its constraints)', function () {
  let standIn: YotoCloudStandIn | undefined;
  let hub: Hub | undefined;

  afterEach(async () => {
    await stopTestHub(hub);
    hub = undefined;
    await standIn?.stop();
    standIn = undefined;
  });

  for (const players of [3, 20]) {
    it(`signs in by a pasted final address with the default scopes, then follows all ${players} players: events from each, no SUBSCRIBE over 8 filters`, async () => {
      standIn = await startYotoCloudStandIn({ players });
      hub = await startTestHub(standIn.settings);
      const admin = await onboardAdmin(hub);
      expect(hub.cloud.state).to.equal('needs_sign_in');

      const status = await signInLink(hub, admin);
      const link = new URL(status.url!);
      expect(link.searchParams.get('scope'), 'the link asks for the documented scope list').to.equal(DEFAULT_SCOPES.join(' '));
      expect(status.scopes).to.deep.equal([...DEFAULT_SCOPES]);

      // The browser is on another machine: it ends on 127.0.0.1:<port>/callback?code=... of that machine.
      const signedIn = await paste(hub, admin, await finalAddress(status.url!));
      expect(signedIn.status, JSON.stringify(signedIn.json)).to.equal(200);
      expect(signedIn.json).to.include({ signedIn: true, active: 'yoto' });
      expect(hub.cloud.state).to.equal('running');
      await hub.cloud.mqtt!.whenConnected();

      const ids = standIn.cloud.fleet.players().map((player) => player.deviceId);
      expect(ids).to.have.length(players);
      const heard = allPlaying(hub, ids, 'demo1');
      for (const player of standIn.cloud.fleet.players()) await player.insertCard('demo1');
      await heard;

      const subscribes = standIn.broker.subscribeStats();
      expect(subscribes.refused, 'no SUBSCRIBE was refused').to.equal(0);
      expect(subscribes.largest, 'the largest SUBSCRIBE the broker saw').to.be.at.most(8);
      expect(subscribes.packets, 'four topics per player, eight per packet').to.be.at.least(Math.ceil((players * 4) / 8));
    });
  }

  it('Home Assistant\'s Play card picker lists the family library of the cloud signed in to, once signed in', async () => {
    standIn = await startYotoCloudStandIn({ players: 1 });
    hub = await startTestHub(standIn.settings);
    const admin = await onboardAdmin(hub);
    const house = await BrokerWatcher.connect(hub.broker.url, ['homeassistant/select/+/play_card/config'], { username: 'admin@example.org', password: 'correct horse battery' });
    try {
      const status = await signInLink(hub, admin);
      expect((await paste(hub, admin, await finalAddress(status.url!))).status).to.equal(200);
      const [player] = standIn.cloud.fleet.players();
      // Before the sign-in there was no library to read (and no picker); the hub reads it once it runs on the cloud.
      const picker = await house.next((m) => m.topic === `homeassistant/select/${player!.deviceId}/play_card/config` && m.text !== '');
      expect((JSON.parse(picker.text) as { options: string[] }).options).to.include.members(['Rockets and Planets', 'The Forest Mouse']);
    } finally {
      await house.close();
    }
  });

  it('the broker closes an adapter connection whose SUBSCRIBE carries more than 8 topic filters, as AWS IoT does', async () => {
    standIn = await startYotoCloudStandIn();
    const token = await appAccessToken(standIn, DEFAULT_SCOPES.join(' '));
    const client = await mqtt.connectAsync(standIn.broker.url, { username: mqttUsername('probe'), password: token, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const topics = Array.from({ length: 9 }, (_, i) => `device/probe${i}/data/events`);
    client.subscribe(topics, { qos: 1 }, () => undefined);
    await closed;
    await client.endAsync(true);
    expect(standIn.broker.subscribeStats()).to.include({ refused: 1, largest: 9 });
  });

  it('a scope list without family:devices:control: the sign-in reports the missing scope and the setting, and the hub does not connect or loop', async () => {
    standIn = await startYotoCloudStandIn();
    const scopes = DEFAULT_SCOPES.filter((scope) => scope !== 'family:devices:control');
    hub = await startTestHub({ ...standIn.settings, scopes });
    const admin = await onboardAdmin(hub);
    const status = await signInLink(hub, admin);
    expect(new URL(status.url!).searchParams.get('scope')).to.equal(scopes.join(' '));

    const answer = await paste(hub, admin, await finalAddress(status.url!));
    expect(answer.status).to.equal(400);
    expect(answer.json.error?.code).to.equal('missing_scope');
    expect(answer.json.error?.message).to.contain('family:devices:control').and.contain('YOTO_SCOPES');
    expect(hub.cloud.state).to.equal('needs_sign_in');
    const health = (await call(hub, 'GET', '/api/system/health', admin.accessToken)).json as { components: { cloud: { signInProblem?: string } } };
    expect(health.components.cloud.signInProblem).to.contain('family:devices:control');
    expect(hub.cloud.mqtt, 'no MQTT connection is tried with a token that cannot have one').to.equal(undefined);
    expect(standIn.broker.subscribeStats().packets).to.equal(0);
  });

  it('an app not registered for a scope: Yoto refuses at consent (access_denied) and the hub says which scopes to tick', async () => {
    standIn = await startYotoCloudStandIn({ appScopes: DEFAULT_SCOPES.filter((scope) => scope !== 'family:devices:manage') });
    hub = await startTestHub(standIn.settings);
    const admin = await onboardAdmin(hub);
    const address = await finalAddress((await signInLink(hub, admin)).url!);
    expect(new URL(address).searchParams.get('error')).to.equal('access_denied');
    const answer = await paste(hub, admin, address);
    expect(answer.status).to.equal(400);
    expect(answer.json.error?.code).to.equal('missing_scope');
    expect(answer.json.error?.message).to.contain('family:devices:manage').and.contain('developer dashboard');
    expect(hub.cloud.state).to.equal('needs_sign_in');
  });

  it('a wrong or stale address gets a clear error and the sign-in keeps waiting; a fresh link can be asked for at any time', async () => {
    standIn = await startYotoCloudStandIn();
    hub = await startTestHub(standIn.settings);
    const admin = await onboardAdmin(hub);
    const first = await signInLink(hub, admin);
    const oldAddress = await finalAddress(first.url!);

    const notAUrl = await paste(hub, admin, 'I signed in!');
    expect(notAUrl.status).to.equal(400);
    expect(notAUrl.json.error).to.include({ code: 'invalid_address' });
    const noCode = await paste(hub, admin, 'http://127.0.0.1:1884/callback');
    expect(noCode.status).to.equal(400);
    expect(noCode.json.error).to.include({ code: 'no_code' });
    expect((await call(hub, 'POST', '/api/system/cloud/sign-in/complete', admin.accessToken, {})).status).to.equal(400);

    const second = await signInLink(hub, admin, true);
    expect(second.url, 'a fresh link').to.not.equal(first.url);
    const stale = await paste(hub, admin, oldAddress);
    expect(stale.status).to.equal(400);
    expect(stale.json.error?.code).to.equal('stale_address');
    expect(stale.json.error?.message).to.contain('older').and.contain('newest link');

    const good = await finalAddress(second.url!);
    expect((await paste(hub, admin, good)).status).to.equal(200);
    const again = await paste(hub, admin, good);
    expect(again.status, 'the same address once more: nothing waits for it').to.equal(400);
    expect(again.json.error?.code).to.equal('no_sign_in');
  });

  it('refuses what a token lacks with the real answers: REST 403 insufficient_scope, MQTT not authorized (and the adapter refreshes its token)', async () => {
    standIn = await startYotoCloudStandIn();
    const viewOnly = await appAccessToken(standIn, 'offline_access family:devices:view');
    const devices = await fetch(`${standIn.cloud.url}/device-v2/devices/mine`, { headers: { authorization: `Bearer ${viewOnly}` } });
    expect(devices.status).to.equal(200);
    const cards = await fetch(`${standIn.cloud.url}/content/mine`, { headers: { authorization: `Bearer ${viewOnly}` } });
    expect(cards.status).to.equal(403);
    expect(cards.headers.get('www-authenticate')).to.equal('Bearer error="insufficient_scope", scope="user:content:view"');

    const rejected: string[] = [];
    const adapter = new YotoMqttClient({
      url: standIn.broker.url,
      tokenProvider: () => Promise.resolve(viewOnly),
      tokenRejected: (token) => {
        rejected.push(token);
        return Promise.resolve();
      },
      reconnect: { initialDelayMs: 60_000 },
    });
    const refused = new Promise<{ code: number }>((resolve) => adapter.once('refused', resolve));
    adapter.start();
    expect((await refused).code, 'CONNACK 5: not authorized').to.equal(5);
    await adapter.stop();
    expect(rejected, 'the refused token is handed back for a refresh before the next attempt').to.deep.equal([viewOnly]);
    expect(adapter.stats()).to.include({ refusals: 1, connections: 0 });
    expect(adapter.clientId).to.match(/^[A-Za-z0-9]+$/);
  });

  it('only an admin may sign the hub in', async () => {
    standIn = await startYotoCloudStandIn();
    hub = await startTestHub(standIn.settings);
    await onboardAdmin(hub);
    expect((await call(hub, 'POST', '/api/system/cloud/sign-in', undefined, {})).status).to.equal(401);
  });
});
