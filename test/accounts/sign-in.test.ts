import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { hooked, replaceHooked } from '../helpers/hooked';
import { removeTempDirs } from '../helpers/temp-dir';
import { ADMIN, MEMBER, addUser, errorOf, onboard, startRig, tokens } from './accounts-rig';

describe('accounts: onboarding, sign-in and sessions', () => {
  const rig = hooked('test', startRig, (started) => started.close());
  after(removeTempDirs);

  it('offers onboarding on an empty hub, once only', async () => {
    expect((await rig.request('GET', '/status')).body).to.deep.equal({ onboarding: true, openRegistration: false });
    expect(rig.accounts.needsOnboarding()).to.equal(true);

    const first = await rig.request('POST', '/onboarding', { body: ADMIN });
    expect(first.status).to.equal(201);
    const admin = tokens(first);
    expect(admin.user).to.include({ email: ADMIN.email, name: ADMIN.name, role: 'admin' });
    expect(admin.expiresIn).to.equal(900);
    expect(admin.accessToken).to.be.a('string').and.not.equal('');
    expect(admin.refreshToken).to.be.a('string').and.not.equal('');

    const again = await rig.request('POST', '/onboarding', { body: { ...ADMIN, email: 'intruder@example.com' } });
    expect(again.status).to.equal(409);
    expect(errorOf(again).code).to.equal('already_onboarded');
    expect((await rig.request('GET', '/status')).body).to.deep.equal({ onboarding: false, openRegistration: false });
    expect(rig.accounts.needsOnboarding()).to.equal(false);
    expect(rig.store.users.count()).to.equal(1);
  });

  it('lets two simultaneous onboardings create one admin only', async () => {
    const answers = await Promise.all([
      rig.request('POST', '/onboarding', { body: ADMIN }),
      rig.request('POST', '/onboarding', { body: { ...ADMIN, email: 'other@example.com' } }),
    ]);
    expect(answers.map((a) => a.status).sort()).to.deep.equal([201, 409]);
    expect(rig.store.users.count()).to.equal(1);
  });

  it('signs in with the email in any case, and /me names the caller', async () => {
    await onboard(rig);
    const login = await rig.request('POST', '/login', { body: { email: '  PARENT@Example.COM ', password: ADMIN.password } });
    expect(login.status).to.equal(200);
    const session = tokens(login);
    expect(Object.keys(session).sort()).to.deep.equal(['accessToken', 'expiresIn', 'refreshToken', 'user']);

    const me = await rig.request('GET', '/me', { token: session.accessToken });
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ email: ADMIN.email, name: ADMIN.name, role: 'admin', id: session.user.id });
    expect(rig.accounts.verifyAccessToken(session.accessToken)).to.deep.equal({ id: session.user.id, email: ADMIN.email, role: 'admin' });
  });

  it('gives a wrong password and an unknown email the same answer', async () => {
    await onboard(rig);
    const wrongPassword = await rig.request('POST', '/login', { body: { email: ADMIN.email, password: 'not the password' } });
    const unknownEmail = await rig.request('POST', '/login', { body: { email: 'nobody@example.com', password: ADMIN.password } });
    expect(wrongPassword.status).to.equal(401);
    expect(unknownEmail.status).to.equal(401);
    expect(errorOf(wrongPassword).code).to.equal('invalid_credentials');
    expect(wrongPassword.text).to.equal(unknownEmail.text);
  });

  it('refreshes into a new pair, and each refresh token works once', async () => {
    const admin = await onboard(rig);
    const refreshed = await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } });
    expect(refreshed.status).to.equal(200);
    const next = tokens(refreshed);
    expect(next.refreshToken).to.not.equal(admin.refreshToken);
    expect(next.user).to.include({ email: ADMIN.email });
    expect((await rig.request('GET', '/me', { token: next.accessToken })).status).to.equal(200);

    const third = await rig.request('POST', '/refresh', { body: { refreshToken: next.refreshToken } });
    expect(third.status).to.equal(200);
  });

  it('revokes the whole family when a spent refresh token comes back', async () => {
    const admin = await onboard(rig);
    const other = tokens(await rig.request('POST', '/login', { body: { email: ADMIN.email, password: ADMIN.password } }));
    const second = tokens(await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } }));
    const third = tokens(await rig.request('POST', '/refresh', { body: { refreshToken: second.refreshToken } }));

    // The first token (two generations back) is presented again: a thief or a replay.
    const replay = await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } });
    expect(replay.status).to.equal(401);
    expect(errorOf(replay).code).to.equal('refresh_token_reused');

    const newest = await rig.request('POST', '/refresh', { body: { refreshToken: third.refreshToken } });
    expect(newest.status).to.equal(401);
    expect(errorOf(newest).code).to.equal('invalid_refresh_token');

    // Another sign-in of the same user is another family, and keeps working.
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: other.refreshToken } })).status).to.equal(200);
  });

  it('keeps every rotation: a refresh right after the last, a restart and a replay all see the spent token and its successor', async () => {
    // The hub answers a refresh once the rotation is decided and writes it meanwhile: whatever comes next must still see it.
    const admin = await onboard(rig);
    const second = tokens(await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } }));
    const [third, replay] = await Promise.all([
      rig.request('POST', '/refresh', { body: { refreshToken: second.refreshToken } }),
      rig.request('POST', '/refresh', { body: { refreshToken: second.refreshToken } }),
    ]);
    expect([third.status, replay.status]).to.deep.equal([200, 401]);
    expect(errorOf(replay).code).to.equal('refresh_token_reused');
    // The replay revoked that sign-in; a second one goes through a restart.
    const other = tokens(await rig.request('POST', '/login', { body: { email: ADMIN.email, password: ADMIN.password } }));
    const next = tokens(await rig.request('POST', '/refresh', { body: { refreshToken: other.refreshToken } }));
    const dataDir = rig.dataDir;
    await rig.close();

    replaceHooked(rig, await startRig({}, dataDir));
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: next.refreshToken } })).status, 'the successor was stored before the hub stopped').to.equal(200);
    const spent = await rig.request('POST', '/refresh', { body: { refreshToken: other.refreshToken } });
    expect(errorOf(spent).code, 'and the token it replaced was stored as spent').to.equal('refresh_token_reused');
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: tokens(third).refreshToken } })).status, 'a revoked sign-in stays revoked').to.equal(401);
  });

  it('lets only one of two simultaneous refreshes with the same token succeed', async () => {
    const admin = await onboard(rig);
    const answers = await Promise.all([
      rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } }),
      rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } }),
    ]);
    expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 401]);
  });

  it('signs out: the refresh token and its descendants stop working, other sign-ins do not', async () => {
    const admin = await onboard(rig);
    const other = tokens(await rig.request('POST', '/login', { body: { email: ADMIN.email, password: ADMIN.password } }));
    const next = tokens(await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } }));

    const logout = await rig.request('POST', '/logout', { body: { refreshToken: next.refreshToken } });
    expect(logout.status).to.equal(204);
    expect(logout.text).to.equal('');
    const after = await rig.request('POST', '/refresh', { body: { refreshToken: next.refreshToken } });
    expect(after.status).to.equal(401);
    expect(errorOf(after).code).to.equal('invalid_refresh_token');
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: other.refreshToken } })).status).to.equal(200);
    // Signing out twice, or with a token the hub never issued, is not an error.
    expect((await rig.request('POST', '/logout', { body: { refreshToken: next.refreshToken } })).status).to.equal(204);
    expect((await rig.request('POST', '/logout', { body: { refreshToken: 'never-issued' } })).status).to.equal(204);
  });

  it('refuses an expired access token with invalid_token, and a refresh brings a working one', async () => {
    const admin = await onboard(rig);
    rig.advance(14 * 60);
    expect((await rig.request('GET', '/me', { token: admin.accessToken })).status).to.equal(200);
    rig.advance(2 * 60);
    const expired = await rig.request('GET', '/me', { token: admin.accessToken });
    expect(expired.status).to.equal(401);
    expect(errorOf(expired).code).to.equal('invalid_token');
    expect(errorOf(expired).message).to.contain('expired');
    expect(expired.headers.get('www-authenticate')).to.contain('invalid_token');
    expect(rig.accounts.verifyAccessToken(admin.accessToken)).to.equal(undefined);

    const next = tokens(await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } }));
    expect((await rig.request('GET', '/me', { token: next.accessToken })).status).to.equal(200);
  });

  it('refuses a refresh token after its 30 days', async () => {
    const admin = await onboard(rig);
    rig.advance(30 * 24 * 60 * 60 + 1);
    const answer = await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } });
    expect(answer.status).to.equal(401);
    expect(errorOf(answer).code).to.equal('invalid_refresh_token');
    expect(errorOf(answer).message).to.contain('expired');
  });

  it('refuses forged, garbled and foreign access tokens, and lets a request without one through anonymously', async () => {
    const admin = await onboard(rig);
    const [header, payload] = admin.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, role: 'admin', sub: 'someone-else' })).toString('base64url');
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    for (const token of ['garbage', `${header}.${forgedPayload}.${admin.accessToken.split('.')[2]}`, unsigned, admin.refreshToken]) {
      const answer = await rig.request('GET', '/me', { token });
      expect(answer.status, token).to.equal(401);
      expect(errorOf(answer).code).to.equal('invalid_token');
    }
    const basic = await rig.request('GET', '/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(errorOf(basic).code).to.equal('invalid_token');
    const anonymous = await rig.request('GET', '/me');
    expect(anonymous.status).to.equal(401);
    expect(errorOf(anonymous).code).to.equal('unauthorized');
    // Public routes do not care about a stale header.
    expect((await rig.request('GET', '/status', { token: 'garbage' })).status).to.equal(200);
  });

  it('refuses a disabled user at sign-in and ends their sessions', async () => {
    const admin = await onboard(rig);
    const member = await addUser(rig, admin, MEMBER);
    const patch = await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: { disabled: true } });
    expect(patch.status).to.equal(200);

    const login = await rig.request('POST', '/login', { body: { email: MEMBER.email, password: MEMBER.password } });
    expect(login.status).to.equal(403);
    expect(errorOf(login).code).to.equal('account_disabled');
    expect((await rig.request('GET', '/me', { token: member.accessToken })).status).to.equal(401);
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: member.refreshToken } })).status).to.equal(401);

    await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: { disabled: false } });
    expect((await rig.request('POST', '/login', { body: { email: MEMBER.email, password: MEMBER.password } })).status).to.equal(200);
  });

  it('keeps only hashes: db.json holds a PHC scrypt hash and SHA-256 token hashes, never a password or token', async () => {
    const admin = await onboard(rig);
    await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } });
    await rig.store.close();
    const db = await fs.readFile(path.join(rig.dataDir, 'db.json'), 'utf8');
    const data = JSON.parse(db) as { users: Array<{ passwordHash: string }>; sessions: Array<{ tokenHash: string }> };
    expect(data.users[0]!.passwordHash).to.match(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(data.sessions).to.have.length(2);
    for (const s of data.sessions) expect(s.tokenHash).to.match(/^[a-f0-9]{64}$/);
    expect(db).to.not.contain(ADMIN.password).and.not.contain(admin.refreshToken);
  });

  it('keeps the signing secret in secrets/jwt-secret (mode 0600), so tokens survive a restart', async () => {
    const admin = await onboard(rig);
    const file = path.join(rig.dataDir, 'secrets', 'jwt-secret');
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).to.equal(0o600);
    expect((await fs.readFile(file, 'utf8')).trim().length).to.be.at.least(32);
    expect(await fs.readdir(path.dirname(file))).to.deep.equal(['jwt-secret']);
    const dataDir = rig.dataDir;
    await rig.close();

    replaceHooked(rig, await startRig({}, dataDir));
    expect((await rig.request('GET', '/me', { token: admin.accessToken })).status).to.equal(200);
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: admin.refreshToken } })).status).to.equal(200);
  });
});
