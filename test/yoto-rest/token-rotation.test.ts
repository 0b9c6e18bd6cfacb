import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OAuthError } from '../../server/yoto/auth/oauth-client';
import { SignInRequiredError, YotoTokenManager } from '../../server/yoto/auth/token-manager';
import { FileTokenStore, type StoredTokens } from '../../server/yoto/auth/token-store';
import { YotoApiError } from '../../server/yoto/rest/errors';
import { createAdapter, useSignedInRig } from './cloud-harness';

const TTL_SECONDS = 120;

function savedTokens(file: string): StoredTokens {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredTokens;
}

describe('Yoto tokens: expiry, rotation and restarts', function () {
  const signedIn = useSignedInRig('test', { accessTokenTtlSeconds: TTL_SECONDS });

  it('keeps the tokens in a 0600 file, written without leftovers', () => {
    const file = signedIn.adapter.store.file;
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readdirSync(path.dirname(file)).filter((name) => name.includes('yoto-tokens'))).to.deep.equal(['yoto-tokens.json']);
    const saved = savedTokens(file);
    expect(saved.clientId).to.equal('hub-test-client');
    expect(saved.expiresAt - saved.obtainedAt).to.equal(TTL_SECONDS * 1000);
  });

  it('refreshes before the access token expires, and saves the rotated refresh token', async () => {
    const before = savedTokens(signedIn.adapter.store.file);
    await signedIn.adapter.api.listDevices();
    expect(signedIn.adapter.tokenRequests).to.deep.equal(['authorization_code']);

    // Inside the refresh margin (60 s) but not yet expired: the adapter refreshes first, so no request ever fails.
    await signedIn.rig.clock.advance((TTL_SECONDS - 30) * 1000);
    expect(signedIn.rig.cloud.verifyAccessToken(before.accessToken), 'the old token still works at this point').to.equal(true);
    await signedIn.adapter.api.listDevices();

    expect(signedIn.adapter.tokenRequests).to.deep.equal(['authorization_code', 'refresh_token']);
    const after = savedTokens(signedIn.adapter.store.file);
    expect(after.accessToken).to.not.equal(before.accessToken);
    expect(after.refreshToken).to.be.a('string').and.not.equal(before.refreshToken);
    expect(after.expiresAt).to.equal(signedIn.rig.clock.now() + TTL_SECONDS * 1000);
    expect(fs.statSync(signedIn.adapter.store.file).mode & 0o777).to.equal(0o600);
  });

  it('shares one refresh among concurrent callers, so no refresh token is presented twice', async () => {
    await signedIn.rig.clock.advance(TTL_SECONDS * 1000);
    const results = await Promise.all(Array.from({ length: 12 }, () => signedIn.adapter.api.listDevices()));
    expect(results.every((devices) => devices.length === 2)).to.equal(true);
    expect(signedIn.adapter.tokenRequests.filter((grant) => grant === 'refresh_token')).to.have.length(1);
  });

  it('the cloud refuses a spent refresh token with invalid_grant and revokes that sign-in', async () => {
    const spent = savedTokens(signedIn.adapter.store.file).refreshToken!;
    await signedIn.adapter.tokens.refresh();
    const reuse = await signedIn.adapter.oauth.refresh(spent).catch((error: unknown) => error);
    expect(reuse).to.be.instanceOf(OAuthError);
    expect((reuse as OAuthError).error).to.equal('invalid_grant');

    // Reuse looks like theft: the current pair is dead too, and the adapter says a new sign-in is needed.
    await signedIn.rig.clock.advance(TTL_SECONDS * 1000);
    const failure = await signedIn.adapter.api.listDevices().catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(SignInRequiredError);
    expect(signedIn.adapter.tokens.state).to.equal('needs-sign-in');
  });

  it('after a restart, a new token store on the same file uses the rotated tokens', async () => {
    await signedIn.rig.clock.advance(TTL_SECONDS * 1000);
    await signedIn.adapter.api.listDevices();
    const rotated = savedTokens(signedIn.adapter.store.file);

    const restarted = new YotoTokenManager({ oauth: signedIn.adapter.oauth, store: new FileTokenStore(signedIn.adapter.store.file), clock: signedIn.rig.clock });
    expect(await restarted.load()).to.equal('signed-in');
    expect(await restarted.getAccessToken()).to.equal(rotated.accessToken);

    // And its refresh token is the live one: the cloud accepts it.
    await signedIn.rig.clock.advance(TTL_SECONDS * 1000);
    const fresh = await restarted.getAccessToken();
    expect(signedIn.rig.cloud.verifyAccessToken(fresh)).to.equal(true);
    expect(savedTokens(signedIn.adapter.store.file).refreshToken).to.not.equal(rotated.refreshToken);
  });

  it('a second instance holding an older pair reads the newer one from the file instead of reusing its own', async () => {
    const other = new YotoTokenManager({ oauth: signedIn.adapter.oauth, store: new FileTokenStore(signedIn.adapter.store.file), clock: signedIn.rig.clock });
    await other.load();
    await signedIn.rig.clock.advance(TTL_SECONDS * 1000);
    await signedIn.adapter.tokens.getAccessToken();
    const token = await other.getAccessToken();
    expect(token).to.equal(savedTokens(signedIn.adapter.store.file).accessToken);
    expect(signedIn.rig.cloud.verifyAccessToken(token)).to.equal(true);
    expect(signedIn.adapter.tokenRequests.filter((grant) => grant === 'refresh_token')).to.have.length(1);
  });

  it('an expired or missing bearer token gets 401 from the cloud', async () => {
    const expired = savedTokens(signedIn.adapter.store.file).accessToken;
    await signedIn.rig.clock.advance(TTL_SECONDS * 1000 + 1);
    const late = await fetch(`${signedIn.rig.cloud.url}/content/mine`, { headers: { authorization: `Bearer ${expired}` } });
    expect(late.status).to.equal(401);
    expect(await late.json()).to.deep.equal({ error: { code: 'unauthorized', message: 'the access token has expired: refresh it' } });
    const anonymous = await fetch(`${signedIn.rig.cloud.url}/device-v2/devices/mine`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.contain('Bearer');
  });

  it('when the cloud has revoked the sign-in, the adapter tries one refresh and then asks for a new sign-in', async () => {
    await signedIn.rig.cloud.tokens.revokeAll();
    const failure = await signedIn.adapter.api.listDevices().catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(SignInRequiredError);
    expect((failure as Error).message).to.contain('sign in again');
    expect(signedIn.adapter.tokenRequests.filter((grant) => grant === 'refresh_token')).to.have.length(1);
  });

  it('a 401 for a token that had not expired here is healed by one refresh and a retry', async () => {
    // As after a cloud restart that forgot its access tokens: the saved access token is one the cloud does not know.
    const saved = savedTokens(signedIn.adapter.store.file);
    await signedIn.adapter.store.save({ ...saved, accessToken: 'vat_not-issued-by-this-cloud' });
    const restarted = createAdapter(signedIn.rig, signedIn.adapter.store.file);
    await restarted.tokens.load();
    const devices = await restarted.api.listDevices();
    expect(devices).to.have.length(2);
    expect(restarted.tokenRequests).to.deep.equal(['refresh_token']);
  });

  it('a request refused for another reason is not retried and carries status, code and message', async () => {
    const error = await signedIn.adapter.api.getCard('ZZZZZ').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(YotoApiError);
    expect(error).to.include({ status: 404, code: 'not_found' });
    expect((error as YotoApiError).message).to.contain('card ZZZZZ not found');
    expect(signedIn.adapter.waits).to.deep.equal([]);
  });
});
