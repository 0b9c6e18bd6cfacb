import { expect } from 'chai';
import { removeTempDirs } from '../helpers/temp-dir';
import { ADMIN, MEMBER, addUser, errorOf, onboard, startRig, type Rig } from './accounts-rig';

describe('accounts: refusals, rate limits and secrets', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });
  after(removeTempDirs);

  describe('malformed requests', () => {
    beforeEach(async () => {
      rig = await startRig({ openRegistration: true });
    });

    const huge = 'x'.repeat(200_000);
    const cases: Array<{ route: string; body: unknown; field: string; message: RegExp }> = [
      { route: '/onboarding', body: { email: 'a@example.com', name: 'A' }, field: '/password', message: /is required/ },
      { route: '/onboarding', body: { email: 'a@example.com', name: 'A', password: 'short' }, field: '/password', message: /at least 10 characters/ },
      { route: '/onboarding', body: { email: 42, name: 'A', password: ADMIN.password }, field: '/email', message: /must be a string/ },
      { route: '/onboarding', body: { email: 'nope', name: 'A', password: ADMIN.password }, field: '/email', message: /email address/ },
      { route: '/onboarding', body: { email: `${huge}@example.com`, name: 'A', password: ADMIN.password }, field: '/email', message: /at most 254/ },
      { route: '/onboarding', body: { email: 'a@example.com', name: huge, password: ADMIN.password }, field: '/name', message: /at most 255/ },
      { route: '/onboarding', body: { email: 'a@example.com', name: '   ', password: ADMIN.password }, field: '/name', message: /must not be empty/ },
      { route: '/onboarding', body: { ...ADMIN, role: 'admin' }, field: '/role', message: /is not allowed/ },
      { route: '/login', body: { email: ADMIN.email, password: huge }, field: '/password', message: /at most 1024/ },
      { route: '/login', body: { email: ADMIN.email, password: ['a'] }, field: '/password', message: /must be a string/ },
      { route: '/login', body: { email: null, password: ADMIN.password }, field: '/email', message: /must be a string/ },
      { route: '/login', body: [ADMIN], field: '/', message: /must be an object/ },
      { route: '/refresh', body: {}, field: '/refreshToken', message: /is required/ },
      { route: '/refresh', body: { refreshToken: '' }, field: '/refreshToken', message: /must not be empty/ },
      { route: '/refresh', body: { refreshToken: huge }, field: '/refreshToken', message: /at most 4096/ },
      { route: '/logout', body: { refreshToken: { $ne: null } }, field: '/refreshToken', message: /must be a string/ },
      { route: '/register', body: { email: MEMBER.email, name: MEMBER.name }, field: '/password', message: /is required/ },
      { route: '/register', body: { invitationToken: 7, name: 'A', password: ADMIN.password }, field: '/invitationToken', message: /must be a string/ },
    ];

    for (const { route, body, field, message } of cases) {
      it(`POST ${route} ${JSON.stringify(body).slice(0, 70)} → 400 naming ${field}`, async () => {
        if (route !== '/onboarding') await onboard(rig);
        const answer = await rig.request('POST', route, { body });
        expect(answer.status, answer.text.slice(0, 300)).to.equal(400);
        const error = errorOf(answer);
        expect(error.code).to.equal('validation_failed');
        const detail = error.details.find((d) => d.path === field);
        expect(detail, JSON.stringify(error.details)).to.not.equal(undefined);
        expect(detail!.message).to.match(message);
        expect(error.message).to.contain(field);
      });
    }

    it('answers a body that is not JSON, or not sent as JSON, with a 400', async () => {
      const broken = await rig.request('POST', '/login', { raw: '{"email": "a@example.com", ' });
      expect(broken.status).to.equal(400);
      expect(errorOf(broken).code).to.equal('invalid_json');
      const form = await rig.request('POST', '/login', { raw: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).to.equal(400);
      expect(errorOf(form).details[0]!.path).to.equal('/');
      const bareString = await rig.request('POST', '/login', { body: 'parent@example.com' });
      expect(bareString.status).to.equal(400);
      expect(errorOf(bareString).code).to.equal('invalid_json');
      const nothing = await rig.request('POST', '/refresh');
      expect(nothing.status).to.equal(400);
    });

    it('answers admin routes with bad bodies with a 400 naming the field', async () => {
      const admin = await onboard(rig);
      const member = await addUser(rig, admin, MEMBER);
      const empty = await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: {} });
      expect(empty.status).to.equal(400);
      expect(errorOf(empty).message).to.contain('role').and.contain('disabled').and.contain('name');
      const badRole = await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: { role: 'root', disabled: 'yes' } });
      expect(errorOf(badRole).details).to.deep.equal([
        { path: '/role', message: 'must be one of admin, member' },
        { path: '/disabled', message: 'must be true or false' },
      ]);
      const badPassword = await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: { passwordHash: 'x' } });
      expect(errorOf(badPassword).details[0]!.path).to.equal('/passwordHash');
      const invitation = await rig.request('POST', '/invitations', { token: admin.accessToken, body: { email: 'x@example.com', role: 'owner' } });
      expect(invitation.status).to.equal(400);
      expect(errorOf(invitation).details[0]!.path).to.equal('/role');
    });
  });

  it('answers sign-in attempts beyond the limit with 429 rate_limited, each route counting on its own', async () => {
    rig = await startRig({ rateLimit: { limit: 3, windowMs: 60_000 } });
    await onboard(rig); // one onboarding attempt
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      statuses.push((await rig.request('POST', '/login', { body: { email: ADMIN.email, password: 'wrong password' } })).status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 429]);
    const limited = await rig.request('POST', '/login', { body: { email: ADMIN.email, password: ADMIN.password } });
    expect(limited.status).to.equal(429);
    expect(errorOf(limited).code).to.equal('rate_limited');
    expect(errorOf(limited).message).to.contain('try again');
    expect(Number(limited.headers.get('retry-after'))).to.be.above(0);
    // Other routes keep their own budget.
    expect((await rig.request('POST', '/refresh', { body: { refreshToken: 'unknown' } })).status).to.equal(401);
    const onboarding = [];
    for (let i = 0; i < 3; i += 1) onboarding.push((await rig.request('POST', '/onboarding', { body: ADMIN })).status);
    expect(onboarding).to.deep.equal([409, 409, 429]);
  });

  it('never sends a password, its hash or another user’s secret in any answer', async () => {
    rig = await startRig();
    const admin = await onboard(rig);
    const member = await addUser(rig, admin, MEMBER);
    await rig.request('POST', '/login', { body: { email: MEMBER.email, password: MEMBER.password } });
    await rig.request('POST', '/login', { body: { email: MEMBER.email, password: 'wrong password' } });
    await rig.request('GET', '/me', { token: member.accessToken });
    await rig.request('GET', '/users', { token: admin.accessToken });
    await rig.request('PATCH', `/users/${member.user.id}`, { token: admin.accessToken, body: { name: 'Renamed' } });
    await rig.request('POST', '/refresh', { body: { refreshToken: member.refreshToken } });
    await rig.request('POST', '/onboarding', { body: ADMIN });
    await rig.accounts.ensureAdmin({ email: 'x@example.com', password: 'whatever12345' });

    const hashes = rig.store.users.list().map((u) => u.passwordHash);
    expect(rig.seen.length).to.be.above(8);
    for (const text of rig.seen) {
      expect(text).to.not.contain('passwordHash').and.not.contain('$scrypt$');
      expect(text).to.not.contain(ADMIN.password).and.not.contain(MEMBER.password);
      for (const hash of hashes) expect(text).to.not.contain(hash.split('$').pop()!);
    }
  });
});
