import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OAuthError } from '../../server/yoto/auth/oauth-client';
import { SignInRequiredError, YotoTokenManager } from '../../server/yoto/auth/token-manager';
import { FileTokenStore, type StoredTokens } from '../../server/yoto/auth/token-store';
import { YotoApiError } from '../../server/yoto/rest/errors';
import { createAdapter, signInThroughBrowser, startCloudRig, type Adapter, type CloudRig } from './cloud-harness';

const TTL_SECONDS = 120;

function savedTokens(file: string): StoredTokens {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredTokens;
}

describe('Yoto tokens: expiry, rotation and restarts', function () {
  let rig: CloudRig;
  let adapter: Adapter;
  beforeEach(async () => {
    rig = await startCloudRig({ accessTokenTtlSeconds: TTL_SECONDS });
    adapter = createAdapter(rig);
    await signInThroughBrowser(adapter);
  });
  afterEach(async () => {
    adapter.rest.close();
    await rig.stop();
  });

  it('keeps the tokens in a 0600 file, written without leftovers', () => {
    const file = adapter.store.file;
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readdirSync(path.dirname(file)).filter((name) => name.includes('yoto-tokens'))).to.deep.equal(['yoto-tokens.json']);
    const saved = savedTokens(file);
    expect(saved.clientId).to.equal('hub-test-client');
    expect(saved.expiresAt - saved.obtainedAt).to.equal(TTL_SECONDS * 1000);
  });

  it('refreshes before the access token expires, and saves the rotated refresh token', async () => {
    const before = savedTokens(adapter.store.file);
    await adapter.api.listDevices();
    expect(adapter.tokenRequests).to.deep.equal(['authorization_code']);

    // Inside the refresh margin (60 s) but not yet expired: the adapter refreshes first, so no request ever fails.
    await rig.clock.advance((TTL_SECONDS - 30) * 1000);
    expect(rig.cloud.verifyAccessToken(before.accessToken), 'the old token still works at this point').to.equal(true);
    await adapter.api.listDevices();

    expect(adapter.tokenRequests).to.deep.equal(['authorization_code', 'refresh_token']);
    const after = savedTokens(adapter.store.file);
    expect(after.accessToken).to.not.equal(before.accessToken);
    expect(after.refreshToken).to.be.a('string').and.not.equal(before.refreshToken);
    expect(after.expiresAt).to.equal(rig.clock.now() + TTL_SECONDS * 1000);
    expect(fs.statSync(adapter.store.file).mode & 0o777).to.equal(0o600);
  });

  it('shares one refresh among concurrent callers, so no refresh token is presented twice', async () => {
    await rig.clock.advance(TTL_SECONDS * 1000);
    const results = await Promise.all(Array.from({ length: 12 }, () => adapter.api.listDevices()));
    expect(results.every((devices) => devices.length === 2)).to.equal(true);
    expect(adapter.tokenRequests.filter((grant) => grant === 'refresh_token')).to.have.length(1);
  });

  it('the cloud refuses a spent refresh token with invalid_grant and revokes that sign-in', async () => {
    const spent = savedTokens(adapter.store.file).refreshToken!;
    await adapter.tokens.refresh();
    const reuse = await adapter.oauth.refresh(spent).catch((error: unknown) => error);
    expect(reuse).to.be.instanceOf(OAuthError);
    expect((reuse as OAuthError).error).to.equal('invalid_grant');

    // Reuse looks like theft: the current pair is dead too, and the adapter says a new sign-in is needed.
    await rig.clock.advance(TTL_SECONDS * 1000);
    const failure = await adapter.api.listDevices().catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(SignInRequiredError);
    expect(adapter.tokens.state).to.equal('needs-sign-in');
  });

  it('after a restart, a new token store on the same file uses the rotated tokens', async () => {
    await rig.clock.advance(TTL_SECONDS * 1000);
    await adapter.api.listDevices();
    const rotated = savedTokens(adapter.store.file);

    const restarted = new YotoTokenManager({ oauth: adapter.oauth, store: new FileTokenStore(adapter.store.file), clock: rig.clock });
    expect(await restarted.load()).to.equal('signed-in');
    expect(await restarted.getAccessToken()).to.equal(rotated.accessToken);

    // And its refresh token is the live one: the cloud accepts it.
    await rig.clock.advance(TTL_SECONDS * 1000);
    const fresh = await restarted.getAccessToken();
    expect(rig.cloud.verifyAccessToken(fresh)).to.equal(true);
    expect(savedTokens(adapter.store.file).refreshToken).to.not.equal(rotated.refreshToken);
  });

  it('a second instance holding an older pair reads the newer one from the file instead of reusing its own', async () => {
    const other = new YotoTokenManager({ oauth: adapter.oauth, store: new FileTokenStore(adapter.store.file), clock: rig.clock });
    await other.load();
    await rig.clock.advance(TTL_SECONDS * 1000);
    await adapter.tokens.getAccessToken();
    const token = await other.getAccessToken();
    expect(token).to.equal(savedTokens(adapter.store.file).accessToken);
    expect(rig.cloud.verifyAccessToken(token)).to.equal(true);
    expect(adapter.tokenRequests.filter((grant) => grant === 'refresh_token')).to.have.length(1);
  });

  it('an expired or missing bearer token gets 401 from the cloud', async () => {
    const expired = savedTokens(adapter.store.file).accessToken;
    await rig.clock.advance(TTL_SECONDS * 1000 + 1);
    const late = await fetch(`${rig.cloud.url}/content/mine`, { headers: { authorization: `Bearer ${expired}` } });
    expect(late.status).to.equal(401);
    expect(await late.json()).to.deep.equal({ error: { code: 'unauthorized', message: 'the access token has expired: refresh it' } });
    const anonymous = await fetch(`${rig.cloud.url}/device-v2/devices/mine`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.contain('Bearer');
  });

  it('when the cloud has revoked the sign-in, the adapter tries one refresh and then asks for a new sign-in', async () => {
    await rig.cloud.tokens.revokeAll();
    const failure = await adapter.api.listDevices().catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(SignInRequiredError);
    expect((failure as Error).message).to.contain('sign in again');
    expect(adapter.tokenRequests.filter((grant) => grant === 'refresh_token')).to.have.length(1);
  });

  it('a 401 for a token that had not expired here is healed by one refresh and a retry', async () => {
    // As after a cloud restart that forgot its access tokens: the saved access token is one the cloud does not know.
    const saved = savedTokens(adapter.store.file);
    await adapter.store.save({ ...saved, accessToken: 'vat_not-issued-by-this-cloud' });
    const restarted = createAdapter(rig, adapter.store.file);
    await restarted.tokens.load();
    const devices = await restarted.api.listDevices();
    expect(devices).to.have.length(2);
    expect(restarted.tokenRequests).to.deep.equal(['refresh_token']);
  });

  it('a request refused for another reason is not retried and carries status, code and message', async () => {
    const error = await adapter.api.getCard('ZZZZZ').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(YotoApiError);
    expect(error).to.include({ status: 404, code: 'not_found' });
    expect((error as YotoApiError).message).to.contain('card ZZZZZ not found');
    expect(adapter.waits).to.deep.equal([]);
  });
});
