import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { BrowserSignIn } from '../../server/yoto/auth/browser-sign-in';
import { YotoOAuthClient, type TokenResponse } from '../../server/yoto/auth/oauth-client';
import { YotoTokenManager } from '../../server/yoto/auth/token-manager';
import { FileTokenStore } from '../../server/yoto/auth/token-store';
import { fixturesDir } from '../helpers/fixtures';
import { ManualClock } from '../../server/time/clock';
import { YotoRestClient } from '../../server/yoto/rest/rest-client';
import { YotoCloudApi } from '../../server/yoto/rest/yoto-api';
import { VirtualCloud, type VirtualCloudOptions } from '../../server/virtual/virtual-cloud';
import { ALL_VIRTUAL_SCOPES } from '../../server/virtual/tokens/token-service';
import { startAedes } from '../helpers/aedes-broker';

export const CLIENT_ID = 'hub-test-client';

/** A virtual cloud with its players on an in-process broker, on a clock the test moves. */
export interface CloudRig {
  cloud: VirtualCloud;
  broker: EmbeddedBroker;
  clock: ManualClock;
  dir: string;
  stop(): Promise<void>;
}

export async function startCloudRig(options: Partial<Omit<VirtualCloudOptions, 'brokerUrl' | 'clock'>> = {}): Promise<CloudRig> {
  const broker = await startAedes();
  const clock = new ManualClock();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-cloud-'));
  const cloud = new VirtualCloud({ port: 0, brokerUrl: broker.url, clock, transcodeDelayMs: 1500, clients: { [CLIENT_ID]: ALL_VIRTUAL_SCOPES }, ...options });
  try {
    await cloud.start();
  } catch (error) {
    await broker.stop();
    throw error;
  }
  return {
    cloud,
    broker,
    clock,
    dir,
    async stop() {
      await cloud.stop();
      await broker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The hub's cloud adapter pointed at the virtual cloud, with its waits recorded (they move the clock instead of sleeping). */
export interface Adapter {
  oauth: YotoOAuthClient;
  store: FileTokenStore;
  tokens: YotoTokenManager;
  rest: YotoRestClient;
  api: YotoCloudApi;
  /** Every wait the REST client asked for, in ms. */
  waits: number[];
  /** Grant types sent to /oauth/token, in order. */
  tokenRequests: string[];
}

export function createAdapter(rig: CloudRig, tokenFile = path.join(rig.dir, 'yoto-tokens.json')): Adapter {
  const tokenRequests: string[] = [];
  const countingFetch: typeof fetch = async (input, init) => {
    if (String(input).endsWith('/oauth/token') && typeof init?.body === 'string') {
      tokenRequests.push(new URLSearchParams(init.body).get('grant_type') ?? '');
    }
    return fetch(input, init);
  };
  const waits: number[] = [];
  const oauth = new YotoOAuthClient({ clientId: CLIENT_ID, authUrl: rig.cloud.url, fetch: countingFetch });
  const store = new FileTokenStore(tokenFile);
  const tokens = new YotoTokenManager({ oauth, store, clock: rig.clock, refreshMarginSeconds: 60 });
  const rest = new YotoRestClient({
    baseUrl: rig.cloud.url,
    auth: tokens,
    random: () => 1,
    sleep: async (ms) => {
      waits.push(ms);
      await rig.clock.advance(ms);
    },
  });
  return { oauth, store, tokens, rest, api: new YotoCloudApi(rest, { transcodePollMs: 500 }), waits, tokenRequests };
}

/**
 * The PKCE sign-in as a user does it, with fetch as the browser: open the
 * authorize URL, follow its redirect to the adapter's loopback callback.
 */
export async function signInThroughBrowser(adapter: Adapter): Promise<TokenResponse> {
  const signIn = new BrowserSignIn({ oauth: adapter.oauth, port: 0 });
  const links = await signIn.start();
  const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
  const callbackUrl = approval.headers.get('location');
  if (approval.status !== 302 || !callbackUrl) throw new Error(`the virtual login did not redirect (${approval.status})`);
  const page = await fetch(callbackUrl);
  await page.text();
  const tokens = await signIn.result;
  await adapter.tokens.acceptSignIn(tokens);
  await signIn.closed();
  return tokens;
}

/** What a signed-in suite drives: set in its hooks, so read it inside hooks and tests. */
export interface SignedInRig {
  readonly rig: CloudRig;
  readonly adapter: Adapter;
}

/**
 * Registers the hooks of a suite that talks to the virtual cloud as a signed-in
 * hub: a cloud rig, the adapter on it and a browser sign-in, closed and stopped
 * afterwards. `per: 'test'` gives every test its own fresh rig.
 */
export function useSignedInRig(per: 'suite' | 'test', options: Parameters<typeof startCloudRig>[0] = {}): SignedInRig {
  let current: SignedInRig | undefined;
  (per === 'suite' ? before : beforeEach)(async () => {
    const rig = await startCloudRig(options);
    const adapter = createAdapter(rig);
    current = { rig, adapter };
    await signInThroughBrowser(adapter);
  });
  (per === 'suite' ? after : afterEach)(async () => {
    current?.adapter.rest.close();
    await current?.rig.stop();
    current = undefined;
  });
  const now = (): SignedInRig => {
    if (!current) throw new Error('the signed-in rig is not ready: read it inside a hook or test');
    return current;
  };
  return { get rig() { return now().rig; }, get adapter() { return now().adapter; } };
}

export function fixture(...parts: string[]): Buffer {
  return fs.readFileSync(path.join(fixturesDir, ...parts));
}
