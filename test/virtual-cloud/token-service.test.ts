import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALL_VIRTUAL_SCOPES, OAuthRefusal, VirtualTokenService, type AuthorizationRequest } from '../../server/virtual/tokens/token-service';
import { ManualClock } from '../../server/time/clock';
import { codeChallengeS256, createCodeVerifier } from '../../server/yoto/auth/pkce';
import { rejectionOf } from '../helpers/rejection';

const CLIENT = 'client-1';
const REDIRECT = 'http://127.0.0.1:5555/callback';
/** The apps registered with the virtual login in these tests. */
const CLIENTS = { [CLIENT]: ALL_VIRTUAL_SCOPES, 'client-2': ALL_VIRTUAL_SCOPES };

function request(verifier: string, scope = 'openid offline_access'): AuthorizationRequest {
  return {
    responseType: 'code', clientId: CLIENT, redirectUri: REDIRECT, codeChallenge: codeChallengeS256(verifier),
    codeChallengeMethod: 'S256', scope, audience: 'https://api.yotoplay.com',
  };
}

const refusal = (promise: Promise<unknown>): Promise<OAuthRefusal> => rejectionOf(promise, OAuthRefusal);

describe('virtual cloud token service', () => {
  let clock: ManualClock;
  let service: VirtualTokenService;
  beforeEach(() => {
    clock = new ManualClock();
    service = new VirtualTokenService({ clock, accessTokenTtlSeconds: 30, refreshTokenTtlSeconds: 600, codeTtlSeconds: 60, clients: CLIENTS });
  });

  async function signIn(): Promise<{ access: string; refresh: string }> {
    const verifier = createCodeVerifier();
    const code = service.authorize(request(verifier));
    const tokens = await service.exchangeCode({ code, codeVerifier: verifier, redirectUri: REDIRECT, clientId: CLIENT });
    return { access: tokens.access_token, refresh: tokens.refresh_token! };
  }

  it('an authorization code expires', async () => {
    const verifier = createCodeVerifier();
    const code = service.authorize(request(verifier));
    await clock.advance(61_000);
    const error = await refusal(service.exchangeCode({ code, codeVerifier: verifier, redirectUri: REDIRECT, clientId: CLIENT }));
    expect(error.toBody()).to.deep.equal({ error: 'invalid_grant', error_description: 'Invalid authorization code' });
  });

  it('a code is bound to its client and redirect URI', async () => {
    const verifier = createCodeVerifier();
    const code = service.authorize(request(verifier));
    expect((await refusal(service.exchangeCode({ code, codeVerifier: verifier, redirectUri: 'http://127.0.0.1:1/other', clientId: CLIENT }))).error).to.equal('invalid_grant');
    const second = service.authorize(request(verifier));
    expect((await refusal(service.exchangeCode({ code: second, codeVerifier: verifier, redirectUri: REDIRECT, clientId: 'client-2' }))).error).to.equal('invalid_grant');
  });

  it('refuses an audience it does not serve, as Auth0 does', () => {
    expect(() => service.authorize({ ...request(createCodeVerifier()), audience: 'https://example.com' })).to.throw(OAuthRefusal, 'Service not found: https://example.com');
  });

  it('rotates refresh tokens: each works once, and each access token lives its TTL', async () => {
    const first = await signIn();
    expect(service.inspectAccessToken(first.access)).to.equal('valid');
    const second = await service.refresh({ refreshToken: first.refresh, clientId: CLIENT });
    expect(second.refresh_token).to.be.a('string').and.not.equal(first.refresh);
    await clock.advance(30_000);
    expect(service.inspectAccessToken(second.access_token)).to.equal('expired');
    const third = await service.refresh({ refreshToken: second.refresh_token!, clientId: CLIENT });
    expect(service.verifyAccessToken(third.access_token)).to.equal(true);
  });

  it('presenting a spent refresh token revokes the whole sign-in, but not other sign-ins', async () => {
    const mine = await signIn();
    const other = await signIn();
    const rotated = await service.refresh({ refreshToken: mine.refresh, clientId: CLIENT });
    const reuse = await refusal(service.refresh({ refreshToken: mine.refresh, clientId: CLIENT }));
    expect(reuse).to.include({ status: 403, error: 'invalid_grant' });
    expect(service.verifyAccessToken(rotated.access_token)).to.equal(false);
    expect((await refusal(service.refresh({ refreshToken: rotated.refresh_token!, clientId: CLIENT }))).error).to.equal('invalid_grant');
    expect(service.verifyAccessToken(other.access)).to.equal(true);
    await service.refresh({ refreshToken: other.refresh, clientId: CLIENT });
  });

  it('a refresh token unused past its lifetime no longer works', async () => {
    const { refresh } = await signIn();
    await clock.advance(601_000);
    expect((await refusal(service.refresh({ refreshToken: refresh, clientId: CLIENT }))).description).to.equal('Unknown or invalid refresh token.');
  });

  it('keeps only token hashes in its file, and knows its tokens after a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-tokens-'));
    try {
      const persisted = new VirtualTokenService({ clock, dataDir, clients: CLIENTS });
      const verifier = createCodeVerifier();
      const code = persisted.authorize(request(verifier));
      const tokens = await persisted.exchangeCode({ code, codeVerifier: verifier, redirectUri: REDIRECT, clientId: CLIENT });
      await persisted.flush();
      const text = fs.readFileSync(path.join(dataDir, 'tokens.json'), 'utf8');
      expect(text).to.not.contain(tokens.access_token);
      expect(text).to.not.contain(tokens.refresh_token!);

      const restarted = new VirtualTokenService({ clock, dataDir, clients: CLIENTS });
      await restarted.load();
      expect(restarted.verifyAccessToken(tokens.access_token)).to.equal(true);
      await restarted.refresh({ refreshToken: tokens.refresh_token!, clientId: CLIENT });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
