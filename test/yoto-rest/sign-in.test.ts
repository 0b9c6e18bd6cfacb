import { expect } from 'chai';
import { BrowserSignIn } from '../../server/yoto/auth/browser-sign-in';
import { OAuthError, YotoOAuthClient } from '../../server/yoto/auth/oauth-client';
import { codeChallengeS256, createCodeVerifier } from '../../server/yoto/auth/pkce';
import { isListening } from '../helpers/free-port';
import { hooked } from '../helpers/hooked';
import { CLIENT_ID, createAdapter, signInThroughBrowser, startCloudRig, type CloudRig } from './cloud-harness';

async function authorizeRedirect(rig: CloudRig, params: Record<string, string>): Promise<URL> {
  const url = new URL('/authorize', rig.cloud.url);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const response = await fetch(url, { redirect: 'manual' });
  expect(response.status).to.equal(302);
  return new URL(response.headers.get('location')!);
}

describe('Yoto sign-in (PKCE, loopback callback) against the virtual cloud', function () {
  const rig = hooked('test', () => startCloudRig(), (started) => started.stop());

  it('signs in through the browser flow and the tokens open the REST API', async () => {
    const adapter = createAdapter(rig);
    const tokens = await signInThroughBrowser(adapter);

    expect(tokens.token_type).to.equal('Bearer');
    expect(tokens.expires_in).to.equal(3600);
    expect(tokens.refresh_token, 'offline_access gives a refresh token').to.be.a('string');
    expect(adapter.tokens.state).to.equal('signed-in');
    const devices = await adapter.api.listDevices();
    expect(devices.map((device) => device.name)).to.deep.equal(['Living Room', 'Kids Bedroom']);
  });

  it('sends S256 PKCE, the audience and offline_access to /authorize, and closes the callback server afterwards', async () => {
    const adapter = createAdapter(rig);
    const signIn = new BrowserSignIn({ oauth: adapter.oauth, port: 0 });
    const links = await signIn.start();
    const authorize = new URL(links.authorizeUrl);
    expect(authorize.origin + authorize.pathname).to.equal(`${rig.cloud.url}/authorize`);
    expect(authorize.searchParams.get('code_challenge_method')).to.equal('S256');
    expect(authorize.searchParams.get('code_challenge')).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('audience')).to.equal('https://api.yotoplay.com');
    expect(authorize.searchParams.get('scope')!.split(' ')).to.include('offline_access');
    expect(authorize.searchParams.get('client_id')).to.equal(CLIENT_ID);
    const callbackPort = Number(new URL(links.redirectUri).port);
    expect(await isListening(callbackPort)).to.equal(true);

    // The link a headless hub prints leads to the login page.
    const start = await fetch(links.startUrl, { redirect: 'manual' });
    expect(start.status).to.equal(302);
    expect(start.headers.get('location')).to.equal(links.authorizeUrl);

    const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
    const callback = new URL(approval.headers.get('location')!);
    expect(callback.origin + callback.pathname).to.equal(links.redirectUri);
    expect(callback.searchParams.get('state')).to.equal(authorize.searchParams.get('state'));
    const page = await fetch(callback);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain('Signed in to Yoto');
    await signIn.result;
    await signIn.closed();
    expect(await isListening(callbackPort)).to.equal(false);
  });

  it('finishes from the pasted redirect address when the browser cannot reach the callback server', async () => {
    const adapter = createAdapter(rig);
    const signIn = new BrowserSignIn({ oauth: adapter.oauth, port: 0 });
    const links = await signIn.start();
    const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
    const tokens = await signIn.completeWithRedirectUrl(approval.headers.get('location')!);
    expect(tokens.access_token).to.be.a('string');
    await signIn.closed();
  });

  it('refuses a callback whose state belongs to another sign-in, and says so on the page', async () => {
    const adapter = createAdapter(rig);
    const signIn = new BrowserSignIn({ oauth: adapter.oauth, port: 0 });
    const links = await signIn.start();
    const approval = await fetch(links.authorizeUrl, { redirect: 'manual' });
    const forged = new URL(approval.headers.get('location')!);
    forged.searchParams.set('state', 'someone-elses-state');
    const page = await fetch(forged);
    expect(page.status).to.equal(400);
    expect(await page.text()).to.contain('state mismatch');
    const failure = await signIn.result.then(() => undefined, (error: Error) => error);
    expect(failure?.message).to.contain('state mismatch');
    await signIn.closed();
  });

  it('reports a login refusal (access_denied) as an OAuth error', async () => {
    const adapter = createAdapter(rig);
    const signIn = new BrowserSignIn({ oauth: adapter.oauth, port: 0 });
    await signIn.start();
    const error = await signIn
      .completeWithRedirectUrl('http://127.0.0.1/callback?error=access_denied&error_description=Service%20not%20found')
      .then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(OAuthError);
    expect((error as OAuthError).error).to.equal('access_denied');
    await signIn.closed();
  });

  describe('the virtual login refuses what Yoto refuses', () => {
    const redirectUri = 'http://127.0.0.1:9/callback';
    let oauth: YotoOAuthClient;
    beforeEach(() => {
      oauth = new YotoOAuthClient({ clientId: CLIENT_ID, authUrl: rig.cloud.url });
    });

    async function codeFor(verifier: string): Promise<string> {
      const location = await authorizeRedirect(rig, {
        response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, state: 's1',
        code_challenge: codeChallengeS256(verifier), code_challenge_method: 'S256', scope: 'openid offline_access',
        audience: 'https://api.yotoplay.com',
      });
      return location.searchParams.get('code')!;
    }

    it('a code_verifier that does not match the S256 challenge', async () => {
      const code = await codeFor(createCodeVerifier());
      const error = await oauth.exchangeCode({ code, codeVerifier: createCodeVerifier(), redirectUri }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(OAuthError);
      expect(error).to.include({ error: 'invalid_grant', status: 403, errorDescription: 'Failed to verify code verifier' });
    });

    it('an authorization code used twice', async () => {
      const verifier = createCodeVerifier();
      const code = await codeFor(verifier);
      await oauth.exchangeCode({ code, codeVerifier: verifier, redirectUri });
      const error = await oauth.exchangeCode({ code, codeVerifier: verifier, redirectUri }).catch((e: unknown) => e);
      expect(error).to.include({ error: 'invalid_grant' });
    });

    it('/authorize without PKCE, or with the plain method, redirects back with invalid_request', async () => {
      const base = { response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, state: 'st' };
      const missing = await authorizeRedirect(rig, base);
      expect(missing.searchParams.get('error')).to.equal('invalid_request');
      expect(missing.searchParams.get('error_description')).to.contain('code_challenge');
      expect(missing.searchParams.get('state')).to.equal('st');
      const plain = await authorizeRedirect(rig, { ...base, code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' });
      expect(plain.searchParams.get('error_description')).to.contain('S256');
    });

    it('/authorize without a usable redirect_uri answers 400 instead of redirecting', async () => {
      const response = await fetch(`${rig.cloud.url}/authorize?client_id=${CLIENT_ID}&redirect_uri=javascript:alert(1)`, { redirect: 'manual' });
      expect(response.status).to.equal(400);
      expect(await response.json()).to.deep.equal({ error: 'invalid_request', error_description: 'redirect_uri must be an absolute http(s) URL' });
    });

    it('a sign-in without offline_access gets no refresh token', async () => {
      const verifier = createCodeVerifier();
      const location = await authorizeRedirect(rig, {
        response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri,
        code_challenge: codeChallengeS256(verifier), code_challenge_method: 'S256', scope: 'openid profile',
      });
      const tokens = await oauth.exchangeCode({ code: location.searchParams.get('code')!, codeVerifier: verifier, redirectUri });
      expect(tokens.refresh_token).to.equal(undefined);
    });
  });
});
