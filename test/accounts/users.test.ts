import { expect } from 'chai';
import { hooked, replaceHooked } from '../helpers/hooked';
import { removeTempDirs } from '../helpers/temp-dir';
import { ADMIN, MEMBER, addUser, errorOf, onboard, startRig, tokens, type Tokens } from './accounts-rig';

describe('accounts: invitations, registration and user management', () => {
  const rig = hooked('test', startRig, (started) => started.close());
  after(removeTempDirs);

  async function invite(admin: Tokens, email: string, role?: string): Promise<string> {
    const answer = await rig.request('POST', '/invitations', { token: admin.accessToken, body: role ? { email, role } : { email } });
    expect(answer.status, answer.text).to.equal(201);
    return (answer.body as { invitationToken: string }).invitationToken;
  }

  it('registers an invited member, who can then sign in; the invitation works once', async () => {
    const admin = await onboard(rig);
    const answer = await rig.request('POST', '/invitations', { token: admin.accessToken, body: { email: 'Kid@Example.com', role: 'member' } });
    expect(answer.status).to.equal(201);
    const { invitationToken, expiresAt } = answer.body as { invitationToken: string; expiresAt: string };
    expect(Date.parse(expiresAt)).to.equal(Date.parse('2026-01-17T08:00:00Z'));

    const registered = await rig.request('POST', '/register', { body: { invitationToken, name: MEMBER.name, password: MEMBER.password } });
    expect(registered.status).to.equal(201);
    expect(tokens(registered).user).to.include({ email: MEMBER.email, name: MEMBER.name, role: 'member' });
    expect((await rig.request('GET', '/me', { token: tokens(registered).accessToken })).body).to.include({ role: 'member' });
    expect((await rig.request('POST', '/login', { body: { email: MEMBER.email, password: MEMBER.password } })).status).to.equal(200);

    const again = await rig.request('POST', '/register', { body: { invitationToken, name: 'Someone', password: 'another password' } });
    // Spent: one account per invitation (also once that account is deleted).
    expect(again.status).to.equal(400);
    expect(errorOf(again).code).to.equal('invalid_invitation');
  });

  it('gives an invited admin the admin role', async () => {
    const admin = await onboard(rig);
    const invitationToken = await invite(admin, 'grandma@example.com', 'admin');
    const registered = await rig.request('POST', '/register', { body: { invitationToken, name: 'Grandma', password: 'knitting needles' } });
    expect(tokens(registered).user.role).to.equal('admin');
    expect((await rig.request('GET', '/users', { token: tokens(registered).accessToken })).status).to.equal(200);
  });

  it('refuses an expired, forged or mistyped invitation, naming invitationToken', async () => {
    const admin = await onboard(rig);
    const invitationToken = await invite(admin, MEMBER.email);
    const body = { name: MEMBER.name, password: MEMBER.password };
    for (const token of [`${invitationToken}x`, 'not-a-token', admin.accessToken]) {
      const answer = await rig.request('POST', '/register', { body: { ...body, invitationToken: token } });
      expect(answer.status).to.equal(400);
      expect(errorOf(answer).code).to.equal('invalid_invitation');
      expect(errorOf(answer).details[0]!.path).to.equal('/invitationToken');
    }
    rig.advance(7 * 24 * 60 * 60 + 1);
    const late = await rig.request('POST', '/register', { body: { ...body, invitationToken } });
    expect(late.status).to.equal(400);
    expect(errorOf(late).message).to.contain('expired');
    expect(rig.store.users.count()).to.equal(1);
  });

  it('refuses to invite an email that already has an account', async () => {
    const admin = await onboard(rig);
    const answer = await rig.request('POST', '/invitations', { token: admin.accessToken, body: { email: 'PARENT@example.com' } });
    expect(answer.status).to.equal(409);
    expect(errorOf(answer).details).to.deep.equal([{ path: '/email', message: 'is already in use' }]);
  });

  it('refuses registration without an invitation unless open registration is on', async () => {
    await onboard(rig);
    const closed = await rig.request('POST', '/register', { body: MEMBER });
    expect(closed.status).to.equal(403);
    expect(errorOf(closed).code).to.equal('registration_closed');
    expect(rig.store.users.count()).to.equal(1);
  });

  it('with open registration, anyone may create a member account (once per email), but not before onboarding', async () => {
    await rig.close();
    replaceHooked(rig, await startRig({ openRegistration: true }));
    expect((await rig.request('GET', '/status')).body).to.deep.equal({ onboarding: true, openRegistration: true });
    const early = await rig.request('POST', '/register', { body: MEMBER });
    expect(early.status).to.equal(409);
    expect(errorOf(early).code).to.equal('onboarding_required');

    await onboard(rig);
    const registered = await rig.request('POST', '/register', { body: MEMBER });
    expect(registered.status).to.equal(201);
    expect(tokens(registered).user.role).to.equal('member');
    const twice = await rig.request('POST', '/register', { body: { ...MEMBER, email: 'KID@example.com' } });
    expect(twice.status).to.equal(409);
    expect(errorOf(twice).code).to.equal('email_taken');
  });

  it('keeps members and anonymous callers out of the admin routes', async () => {
    const admin = await onboard(rig);
    const member = await addUser(rig, admin, MEMBER);
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/users', undefined],
      ['POST', '/invitations', { email: 'x@example.com' }],
      ['PATCH', `/users/${admin.user.id}`, { role: 'member' }],
      ['DELETE', `/users/${admin.user.id}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const asMember = await rig.request(method, path, { token: member.accessToken, body });
      expect(asMember.status, `${method} ${path}`).to.equal(403);
      expect(errorOf(asMember)).to.include({ code: 'forbidden', message: 'only an admin may do this' });
      const anonymous = await rig.request(method, path, { body });
      expect(anonymous.status, `${method} ${path}`).to.equal(401);
      expect(errorOf(anonymous).code).to.equal('unauthorized');
    }
    expect(rig.store.users.get(admin.user.id)).to.include({ role: 'admin' });
    expect(rig.store.users.count()).to.equal(2);
  });

  it('lets an admin list, rename, promote and delete users; a role change applies at once', async () => {
    const admin = await onboard(rig);
    rig.advance(60);
    const member = await addUser(rig, admin, MEMBER);
    const list = await rig.request('GET', '/users', { token: admin.accessToken });
    expect((list.body as { users: Array<{ email: string; role: string }> }).users.map((u) => [u.email, u.role])).to.deep.equal([
      [ADMIN.email, 'admin'],
      [MEMBER.email, 'member'],
    ]);

    const renamed = await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: { name: 'Big Kid', role: 'admin' } });
    expect(renamed.status).to.equal(200);
    expect(renamed.body).to.include({ name: 'Big Kid', role: 'admin', email: MEMBER.email });
    // The member's existing access token now carries admin rights: roles are read at each request.
    expect((await rig.request('GET', '/users', { token: member.accessToken })).status).to.equal(200);

    const deleted = await rig.request('DELETE', `/users/${member.user.id}`, { token: admin.accessToken });
    expect(deleted.status).to.equal(204);
    expect((await rig.request('GET', '/me', { token: member.accessToken })).status).to.equal(401);
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: member.refreshToken } })).status).to.equal(401);
    expect(errorOf(await rig.request('POST', '/login', { body: { email: MEMBER.email, password: MEMBER.password } })).code).to.equal('invalid_credentials');
    expect((await rig.request('DELETE', `/users/${member.user.id}`, { token: admin.accessToken })).status).to.equal(404);
    expect((await rig.request('PATCH', '/users/nobody', { token: admin.accessToken, body: { name: 'X' } })).status).to.equal(404);
  });

  it('never lets the hub lose its last admin: no self-delete, no self-disable, no demoting the only admin', async () => {
    const admin = await onboard(rig);
    await addUser(rig, admin, MEMBER);
    const selfDelete = await rig.request('DELETE', `/users/${admin.user.id}`, { token: admin.accessToken });
    expect(selfDelete.status).to.equal(409);
    expect(errorOf(selfDelete).code).to.equal('cannot_delete_self');
    const selfDisable = await rig.request('PATCH', `/users/${admin.user.id}`, { token: admin.accessToken, body: { disabled: true } });
    expect(errorOf(selfDisable).code).to.equal('cannot_disable_self');
    const demote = await rig.request('PATCH', `/users/${admin.user.id}`, { token: admin.accessToken, body: { role: 'member' } });
    expect(demote.status).to.equal(409);
    expect(errorOf(demote)).to.deep.include({ code: 'last_admin' });
    expect(errorOf(demote).details[0]!.path).to.equal('/role');
    expect((await rig.request('GET', '/me', { token: admin.accessToken })).body).to.include({ role: 'admin' });
  });

  it('ensureAdmin creates the admin from start-up credentials once, and never on a hub with users', async () => {
    const first = await rig.accounts.ensureAdmin({ email: 'Owner@Example.com', password: 'start-up secret' });
    expect(first.created).to.equal(true);
    expect(first.user).to.include({ email: 'owner@example.com', role: 'admin', name: 'Admin' });
    expect(first.user).to.not.have.property('passwordHash');
    expect(rig.accounts.needsOnboarding()).to.equal(false);
    expect((await rig.request('GET', '/status')).body).to.include({ onboarding: false });

    const second = await rig.accounts.ensureAdmin({ email: 'someone@example.com', password: 'another secret' });
    expect(second).to.deep.equal({ created: false });
    expect(rig.store.users.count()).to.equal(1);
    const login = await rig.request('POST', '/login', { body: { email: 'owner@example.com', password: 'start-up secret' } });
    expect(login.status).to.equal(200);
    expect((await rig.request('POST', '/onboarding', { body: ADMIN })).status).to.equal(409);
  });

  it('ensureAdmin refuses unusable credentials with a message naming the setting', async () => {
    let error: Error | undefined;
    try {
      await rig.accounts.ensureAdmin({ email: 'not-an-email', password: 'short' });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.contain('YOTO_ADMIN_PASSWORD').and.contain('password must be at least 10 characters long').and.contain('email must be an email address');
    expect(rig.accounts.needsOnboarding()).to.equal(true);
  });
});
