import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { BrokerAcl } from '../../server/broker/broker-acl';
import { generatedLogin } from '../../server/broker/broker-access';
import { silentLogger } from '../../server/log/logger';
import { DEMO_CARDS } from '../../server/virtual/cards/demo-cards';
import { virtualFleetSpecs, type VirtualPlayerSpec } from '../../server/virtual/contracts';
import { ALL_VIRTUAL_SCOPES } from '../../server/virtual/tokens/token-service';
import { VirtualCloud } from '../../server/virtual/virtual-cloud';
import { isYotoAdapterLogin, MAX_FILTERS_PER_SUBSCRIBE } from '../../server/yoto/protocol';
import { BrowserSignIn } from '../../server/yoto/auth/browser-sign-in';
import { YotoOAuthClient } from '../../server/yoto/auth/oauth-client';

/** The client id a user registered at the Yoto developer dashboard, in these tests. */
export const APP_CLIENT_ID = 'my-yoto-app';

export interface YotoCloudStandIn {
  cloud: VirtualCloud;
  /** Its MQTT broker, with the Yoto cloud's rules for adapter logins (AWS IoT's custom authorizer and 8-filter limit). */
  broker: EmbeddedBroker;
  /** The login its players use on its broker (the bench's publishers play them with it). */
  playersLogin: { username: string; password: string };
  /** The hub settings that point the "real" cloud at this stand-in. */
  settings: { cloudMode: 'yoto'; clientId: string; yotoAuthUrl: string; yotoApiUrl: string; yotoMqttUrl: string };
  stop(): Promise<void>;
}

/**
 * A virtual cloud standing in for the real Yoto cloud on its own ports: the
 * app `APP_CLIENT_ID` is registered with `appScopes` (default every scope),
 * its broker refuses what AWS IoT refuses. The hub under test runs in mode
 * "yoto" against it through the YOTO_AUTH_URL / YOTO_API_URL / YOTO_MQTT_URL settings.
 */
export async function startYotoCloudStandIn(options: { players?: number | VirtualPlayerSpec[]; appScopes?: readonly string[] } = {}): Promise<YotoCloudStandIn> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-cloud-stand-in-'));
  let cloud: VirtualCloud | undefined;
  // Its players log in with a login of their own; an adapter login is checked as AWS IoT's custom authorizer does.
  const players = generatedLogin('stand-in-players');
  const broker = new EmbeddedBroker('127.0.0.1', 0, silentLogger, {
    anonymous: 'off',
    acl: new BrokerAcl({ topicPrefix: 'yoto', discoveryPrefix: 'homeassistant', mayUseDevice: () => false, currentUser: () => undefined }),
    identify: (username, password) => {
      if (username === players.username && password === players.password) return Promise.resolve({ kind: 'adapter' });
      if (!isYotoAdapterLogin(username)) return Promise.resolve(undefined);
      const verdict = cloud?.authorizeMqtt(password ?? '') ?? { returnCode: 4, reason: 'the stand-in cloud is not running' };
      return Promise.resolve(verdict === true ? { kind: 'adapter' } : verdict);
    },
    subscribeLimit: (username) => (isYotoAdapterLogin(username) ? MAX_FILTERS_PER_SUBSCRIBE : undefined),
  });
  await broker.start();
  cloud = new VirtualCloud({
    port: 0,
    brokerUrl: broker.url,
    dataDir,
    demoCards: DEMO_CARDS,
    players: Array.isArray(options.players) ? options.players : virtualFleetSpecs(options.players ?? 3),
    clients: { [APP_CLIENT_ID]: options.appScopes ?? ALL_VIRTUAL_SCOPES },
    fleetOptions: { mqttOptions: { ...players } },
  });
  try {
    await cloud.start();
  } catch (error) {
    await broker.stop();
    throw error;
  }
  const running = cloud;
  return {
    cloud: running,
    broker,
    playersLogin: players,
    settings: { cloudMode: 'yoto', clientId: APP_CLIENT_ID, yotoAuthUrl: running.url, yotoApiUrl: running.url, yotoMqttUrl: broker.url },
    async stop() {
      await running.stop();
      await broker.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The browser's part of a sign-in on another machine: opens the link, lets the
 * login redirect, and returns the address the browser ends on (without loading
 * it: on a laptop, 127.0.0.1:<port> is not the hub).
 */
export async function finalAddress(authorizeUrl: string): Promise<string> {
  const answer = await fetch(authorizeUrl, { redirect: 'manual' });
  await answer.arrayBuffer();
  const location = answer.headers.get('location');
  if (answer.status !== 302 || !location) throw new Error(`the login did not redirect (HTTP ${answer.status})`);
  return location;
}

/** An access token of the registered app for these scopes, signed in as the hub would (PKCE, pasted address). */
export async function appAccessToken(standIn: YotoCloudStandIn, scope: string): Promise<string> {
  const oauth = new YotoOAuthClient({ clientId: APP_CLIENT_ID, authUrl: standIn.cloud.url });
  const signIn = new BrowserSignIn({ oauth, port: 0, scope });
  const links = await signIn.start();
  const tokens = await signIn.completeWithRedirectUrl(await finalAddress(links.authorizeUrl));
  await signIn.closed();
  return tokens.access_token;
}
