/**
 * The hub's accounts capability: users with scrypt-hashed passwords, short-lived JWT access
 * tokens, rotating refresh tokens (hashes only, kept in the store's `sessions` collection),
 * invitations, open registration (off by default), rate limits on every sign-in route, and the
 * middlewares the other capabilities use to know who is calling.
 *
 * Mount `router` at /api/auth; put `authenticate` in front of every other API router (it only
 * reads the Authorization header) and `requireUser` / `requireAdmin` on the routes that need them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { MemoryStore, rateLimit, type RateLimitRequestHandler, type Store as RateLimitStore } from 'express-rate-limit';
import jwt, { TokenExpiredError, type JwtPayload } from 'jsonwebtoken';
import { ApiError } from '../http/api-error';
import type { RequestUser } from '../http/request-user';
import { silentLogger, type Logger } from '../log/logger';
import type { Repository, Store } from '../store';
import type { Session, User } from '../types/schemas';
import * as fields from './body';
import { parseBody } from './body';
import { SpentInvitations } from './spent-invitations';
import { ApiTokens, isApiToken, MAX_API_TOKENS_PER_USER } from './api-tokens';
import { loadOrCreateJwtSecret } from './jwt-secret';
import { DEFAULT_COST, hashPassword, verifyPassword } from './passwords';

export interface AccountsRateLimit {
  /** Requests per window per client address and route; default 10. */
  limit?: number;
  /** The window in milliseconds; default 60 000. */
  windowMs?: number;
}

export interface AccountsOptions {
  /** The hub's store: users go to its `users` collection, refresh-token hashes to `sessions`. */
  store: Store;
  /** Where `secrets/jwt-secret` lives; defaults to the store's data directory. */
  dataDir?: string;
  logger?: Logger;
  /** Lets anyone create a member account with POST /register {email, name, password}; default false. */
  openRegistration?: boolean;
  /** Access token lifetime in seconds; default 900 (15 minutes). */
  accessTokenTtlSeconds?: number;
  /** Refresh token lifetime in seconds, renewed at each refresh; default 30 days. */
  refreshTokenTtlSeconds?: number;
  /** Invitation lifetime in seconds; default 7 days. */
  invitationTtlSeconds?: number;
  /** Limits on onboarding, login, refresh and register; `false` turns them off. */
  rateLimit?: AccountsRateLimit | false;
  /** The clock for token issue and expiry (tests move it instead of sleeping). */
  now?: () => Date;
  /** log2 of scrypt's N for new password hashes; default 15. Stored in each hash, so changing it keeps old passwords valid. */
  passwordHashCost?: number;
  /** Several hub instances (server/cluster): the signing secret, revoked tokens, spent refresh tokens and rate limits they share. */
  shared?: SharedAccountState;
}

/**
 * What the hub instances of a cluster share about sign-ins (README "Several hub instances"),
 * so that a token signed on one is checked on another, a revocation on one holds on all,
 * a refresh token is spent once across all of them, and rate limits count every instance's requests.
 */
export interface SharedAccountState {
  /** The secret every instance signs with: the first instance's own, offered by each (`local`), wins. */
  secret(local: string): Promise<string>;
  /** Refuses `key` (`sid:<family>` or `jti:<token id>`) on every instance until `untilMs`. */
  deny(key: string, untilMs: number): void;
  /** What any instance refused so far and is still refused (read once at start). */
  denied(): Promise<Array<{ key: string; untilMs: number }>>;
  /** Calls `listener` for what another instance refuses from now on; returns the remover. */
  onDenied(listener: (key: string, untilMs: number) => void): () => void;
  /** Spends a refresh token (by hash) across the cluster: true only for the first instance that spends it. */
  spendRefreshToken(tokenHash: string, untilMs: number): Promise<boolean>;
  /** A rate-limit counter store every instance shares (`name` tells the limiters apart). */
  rateLimitStore(name: string): RateLimitStore;
}

/** What changed, for onRightsChanged listeners. */
export interface RightsChange {
  userId?: string;
  reason: 'user_changed' | 'user_deleted' | 'signed_out' | 'refresh_token_reused' | 'api_token_revoked';
}

/** A user as the API shows it: never the password hash. */
export type PublicUser = Omit<User, 'passwordHash'>;

export interface SignInAnswer {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  user: PublicUser;
}

export interface AdminCredentials {
  email: string;
  password: string;
  /** Display name; default "Admin". */
  name?: string;
}

export interface Accounts {
  /** Mount at /api/auth, behind express.json() and the hub's JSON error handler. */
  readonly router: Router;
  /** Sets `res.locals.user` from `Authorization: Bearer <access token>`; no header leaves the request anonymous; a bad token is a 401 `invalid_token`. */
  readonly authenticate: RequestHandler;
  /** 401 `unauthorized` unless `authenticate` found a user. */
  readonly requireUser: RequestHandler;
  /** 401 `unauthorized` without a user, 403 `forbidden` for a member. */
  readonly requireAdmin: RequestHandler;
  /** Named long-lived API tokens (GET/POST/DELETE /tokens); verifyAccessToken and `authenticate` take them too. */
  readonly apiTokens: ApiTokens;
  /** The caller of a valid access token (or API token) whose user still exists and is enabled (current role and email); undefined otherwise (also once revoked). */
  verifyAccessToken(token: string): RequestUser | undefined;
  /** When a valid access token expires (ms since the epoch); undefined for one verifyAccessToken refuses. */
  accessTokenExpiresAt(token: string): number | undefined;
  /**
   * Called after anything that may withdraw rights already handed out: a user's role or
   * state changed, a user deleted, a sign-in revoked (logout, refresh-token reuse).
   * Holders of access tokens (the WebSocket gateway) check them again. Returns the unsubscribe.
   */
  onRightsChanged(listener: (change: RightsChange) => void): () => void;
  /** True while there is no user: the panel shows onboarding. */
  needsOnboarding(): boolean;
  /** Creates the first admin from start-up credentials when there is no user yet; does nothing otherwise. */
  ensureAdmin(credentials: AdminCredentials): Promise<{ created: boolean; user?: PublicUser }>;
  /**
   * Runs `handler` after a user is deleted (DELETE /users/:id answers once every handler is done):
   * the hub removes the user's players, scripts, stories and files with it. Returns the remover.
   */
  onUserDeleted(handler: (userId: string) => Promise<void>): () => void;
  /** Stops the rate limiters' timers. Safe to call twice. */
  close(): Promise<void>;
}

const ACCESS_AUDIENCE = 'yoto-hub-api';
const INVITATION_AUDIENCE = 'yoto-hub-invitation';
const ISSUER = 'yoto-smart-stream-hub';
const DAY_SECONDS = 24 * 60 * 60;

/** The admin credentials of YOTO_ADMIN_EMAIL / YOTO_ADMIN_PASSWORD (and optional YOTO_ADMIN_NAME), when both are set. */
export function adminCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): AdminCredentials | undefined {
  const email = env['YOTO_ADMIN_EMAIL']?.trim();
  const password = env['YOTO_ADMIN_PASSWORD'];
  if (!email || !password) return undefined;
  const name = env['YOTO_ADMIN_NAME']?.trim();
  return { email, password, ...(name ? { name } : {}) };
}

export async function createAccounts(options: AccountsOptions): Promise<Accounts> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const users = options.store.users;
  const sessions: Repository<Session> = options.store.collection('sessions');
  const accessTtl = positive(options.accessTokenTtlSeconds, 15 * 60, 'accessTokenTtlSeconds');
  const refreshTtl = positive(options.refreshTokenTtlSeconds, 30 * DAY_SECONDS, 'refreshTokenTtlSeconds');
  const invitationTtl = positive(options.invitationTtlSeconds, 7 * DAY_SECONDS, 'invitationTtlSeconds');
  const openRegistration = options.openRegistration ?? false;
  const hashCost = options.passwordHashCost ?? DEFAULT_COST;
  const localSecret = await loadOrCreateJwtSecret(options.dataDir ?? options.store.dataDir);
  const shared = options.shared;
  const secret = shared ? await shared.secret(localSecret) : localSecret;
  // Compared against when the email is unknown, so an unknown email costs what a wrong password costs.
  const decoyHash = await hashPassword(randomBytes(16).toString('hex'), { cost: hashCost });
  const serial = new Serial();
  const rightsListeners = new Set<(change: RightsChange) => void>();
  const rightsChanged = (change: RightsChange): void => {
    for (const listener of [...rightsListeners]) {
      try {
        listener(change);
      } catch (error) {
        logger.error('a rights-change listener failed', { err: error });
      }
    }
  };
  // Access tokens are stateless for 15 minutes: those of a revoked sign-in (by its family id,
  // `sid`) or of a logout (by token id, `jti`) are refused until they would have expired anyway.
  const denied = new Denylist(() => now().getTime());
  // Shared: what the other instances refuse is refused here too, and sockets on its tokens are checked again.
  const deny = (key: string, untilMs: number): void => {
    denied.add(key, untilMs);
    shared?.deny(key, untilMs);
  };
  const stopSharedDenials = shared?.onDenied((key, untilMs) => {
    denied.add(key, untilMs);
    rightsChanged({ reason: 'signed_out' });
  });
  for (const entry of (await shared?.denied()) ?? []) denied.add(entry.key, entry.untilMs);
  const spentInvitations = await SpentInvitations.open(options.dataDir ?? options.store.dataDir);
  const deletionHandlers = new Set<(userId: string) => Promise<void>>();
  const apiTokens = new ApiTokens(options.store, now);
  /** Refresh tokens only: an API token is never exchanged, signed out or taken for a reuse. */
  const refreshRecords = (match: (s: Session) => boolean): Session[] => sessions.list((s) => s.kind !== 'api' && match(s));

  const seconds = (): number => Math.floor(now().getTime() / 1000);
  const isoIn = (delta: number): string => new Date(now().getTime() + delta * 1000).toISOString();
  const findByEmail = (email: string): User | undefined => users.list((u) => u.email.toLowerCase() === email.toLowerCase())[0];

  // ---- tokens ---------------------------------------------------------------------------

  function signAccessToken(user: User, familyId: string): string {
    return jwt.sign({ role: user.role, email: user.email, sid: familyId, iat: seconds() }, secret, {
      algorithm: 'HS256',
      subject: user.id,
      jwtid: randomUUID(),
      audience: ACCESS_AUDIENCE,
      issuer: ISSUER,
      expiresIn: accessTtl,
    });
  }

  function decode(token: string, audience: string): JwtPayload | 'expired' | undefined {
    try {
      const payload = jwt.verify(token, secret, { algorithms: ['HS256'], audience, issuer: ISSUER, clockTimestamp: seconds() });
      return typeof payload === 'object' ? payload : undefined;
    } catch (error) {
      return error instanceof TokenExpiredError ? 'expired' : undefined;
    }
  }

  function checkAccessToken(token: string): RequestUser | 'expired' | undefined {
    if (isApiToken(token)) return apiTokens.verify(token);
    const payload = decode(token, ACCESS_AUDIENCE);
    if (payload === 'expired' || payload === undefined) return payload;
    if (isDenied(payload)) return undefined;
    const user = typeof payload.sub === 'string' ? users.get(payload.sub) : undefined;
    if (!user || user.disabled) return undefined;
    return { id: user.id, email: user.email, role: user.role };
  }

  function isDenied(payload: JwtPayload): boolean {
    return (typeof payload['sid'] === 'string' && denied.has(`sid:${payload['sid']}`)) || (typeof payload.jti === 'string' && denied.has(`jti:${payload.jti}`));
  }

  /** Refuses the access tokens of a sign-in from now on, until the last one it could have issued expires. */
  function denyFamily(familyId: string): void {
    deny(`sid:${familyId}`, now().getTime() + accessTtl * 1000);
  }

  /** A new refresh token of the sign-in `familyId`, and its record's write (resolved once durable). */
  function queueRefreshToken(userId: string, familyId: string): { token: string; stored: Promise<Session> } {
    // The family id travels in the token, so even a spent token whose record was pruned is recognised as reuse.
    const token = `${familyId}.${randomBytes(32).toString('base64url')}`;
    const stored = sessions.insert({
      id: randomUUID(),
      tokenHash: sha256(token),
      familyId,
      userId,
      used: false,
      revoked: false,
      createdAt: now().toISOString(),
      expiresAt: isoIn(refreshTtl),
    });
    return { token, stored };
  }

  function answerFor(user: User, familyId: string, refreshToken: string): SignInAnswer {
    return { accessToken: signAccessToken(user, familyId), refreshToken, expiresIn: accessTtl, user: publicUser(user) };
  }

  async function signIn(user: User, familyId: string = randomUUID()): Promise<SignInAnswer> {
    const { token, stored } = queueRefreshToken(user.id, familyId);
    await stored;
    return answerFor(user, familyId, token);
  }

  async function revokeFamily(familyId: string): Promise<void> {
    denyFamily(familyId);
    const members = sessions.list((s) => s.familyId === familyId && !s.revoked);
    await Promise.all(members.map((s) => sessions.update(s.id, { revoked: true })));
  }

  async function revokeUserSessions(userId: string, remove: boolean): Promise<void> {
    const members = sessions.list((s) => s.userId === userId && (remove || !s.revoked));
    for (const familyId of new Set(members.map((s) => s.familyId))) denyFamily(familyId);
    await Promise.all(members.map((s) => (remove ? sessions.delete(s.id) : sessions.update(s.id, { revoked: true }))));
  }

  async function pruneExpiredSessions(): Promise<void> {
    const at = now().getTime();
    const expired = sessions.list((s) => Date.parse(s.expiresAt) <= at);
    await Promise.all(expired.map((s) => sessions.delete(s.id)));
  }

  /**
   * Spends `token` and issues its successor. The answer is decided in memory (`answer`) before
   * the rotation is durable (`stored`): the caller hands it out at once and keeps the next sign-in
   * step (refresh, logout, login) waiting until `stored`, so each still sees the rotation.
   */
  async function refresh(token: string): Promise<{ answer: SignInAnswer; stored: Promise<unknown> }> {
    const record = refreshRecords((s) => s.tokenHash === sha256(token))[0];
    if (!record) {
      const familyId = token.split('.')[0] ?? '';
      if (familyId !== '' && refreshRecords((s) => s.familyId === familyId).length > 0) return reused(familyId);
      throw invalidRefreshToken('the refresh token is not valid; sign in again');
    }
    if (record.used) return reused(record.familyId);
    if (record.revoked) throw invalidRefreshToken('the refresh token was revoked (signed out); sign in again');
    if (Date.parse(record.expiresAt) <= now().getTime()) throw invalidRefreshToken('the refresh token has expired; sign in again');
    // Across instances the record may not show yet that another one spent the token: the shared claim decides.
    if (shared && !(await shared.spendRefreshToken(record.tokenHash, Date.parse(record.expiresAt)))) return reused(record.familyId);
    const user = users.get(record.userId);
    if (!user || user.disabled) {
      await revokeFamily(record.familyId);
      throw invalidRefreshToken('the account of this refresh token no longer exists or is disabled');
    }
    // Spend the token, drop the older spent ones (one spent token per family is kept: older ones are
    // recognised as reuse by their family id) and store the new one: asked for together, they reach
    // the disk in one write.
    const spent = sessions.update(record.id, { used: true });
    const older = refreshRecords((s) => s.familyId === record.familyId && s.used && s.id !== record.id);
    const dropped = older.map((s) => sessions.delete(s.id));
    const issued = queueRefreshToken(user.id, record.familyId);
    return { answer: answerFor(user, record.familyId, issued.token), stored: Promise.all([spent, ...dropped, issued.stored]) };
  }

  async function reused(familyId: string): Promise<never> {
    const userId = sessions.list((s) => s.familyId === familyId)[0]?.userId;
    await revokeFamily(familyId);
    logger.warn('refresh token reused: every session of that sign-in is revoked', { userId, familyId });
    rightsChanged({ ...(userId !== undefined ? { userId } : {}), reason: 'refresh_token_reused' });
    throw new ApiError(401, 'refresh_token_reused', 'this refresh token was already used; every session of that sign-in is now revoked, sign in again');
  }

  // ---- users ----------------------------------------------------------------------------

  async function createUser(input: { email: string; name: string; password: string; role: User['role'] }): Promise<User> {
    if (findByEmail(input.email)) throw emailTaken();
    const at = now().toISOString();
    const passwordHash = await hashPassword(input.password, { cost: hashCost });
    if (findByEmail(input.email)) throw emailTaken(); // checked again: hashing took a while
    return users.insert({ id: randomUUID(), email: input.email, name: input.name, passwordHash, role: input.role, createdAt: at, updatedAt: at });
  }

  function enabledAdmins(): User[] {
    return users.list((u) => u.role === 'admin' && !u.disabled);
  }

  // ---- middlewares ----------------------------------------------------------------------

  const authenticate: RequestHandler = (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') {
      next();
      return;
    }
    const match = /^Bearer +([^\s]+) *$/i.exec(header);
    const checked = match ? checkAccessToken(match[1]!) : undefined;
    if (checked === undefined || checked === 'expired') {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      const message = !match
        ? 'the Authorization header must be "Bearer <access token>"'
        : checked === 'expired'
          ? 'the access token has expired; get a new one from POST /api/auth/refresh'
          : isApiToken(match[1]!)
            ? 'the API token is not valid (revoked, or its user disabled or deleted)'
            : 'the access token is not valid; sign in again';
      next(new ApiError(401, 'invalid_token', message));
      return;
    }
    (res.locals as { user?: RequestUser }).user = checked;
    next();
  };

  const requireUser: RequestHandler = (_req, res, next) => {
    next(currentUser(res) ? undefined : unauthorized());
  };

  const requireAdmin: RequestHandler = (_req, res, next) => {
    const user = currentUser(res);
    if (!user) next(unauthorized());
    else if (user.role !== 'admin') next(new ApiError(403, 'forbidden', 'only an admin may do this'));
    else next();
  };

  // ---- rate limits ----------------------------------------------------------------------

  const limiterStores: RateLimitStore[] = [];
  /**
   * X-Forwarded-For from a peer that is not a trusted proxy is ignored, so every client behind that
   * peer shares its limits: said once in the hub's log, with what to set. (express-rate-limit's own
   * check of the header is off: it printed a stack trace to the console, outside the hub's log.)
   */
  let ignoredForwardedForSaid = false;
  const sayIgnoredForwardedFor = (req: Request): void => {
    if (ignoredForwardedForSaid || req.headers['x-forwarded-for'] === undefined) return;
    const peer = req.socket.remoteAddress ?? 'unknown';
    const trusts = req.app.get('trust proxy fn') as (address: string, hop: number) => boolean;
    if (trusts(peer, 0)) return;
    ignoredForwardedForSaid = true;
    logger.warn('X-Forwarded-For ignored: the request did not come from a trusted proxy, so every client behind it shares one rate limit. Behind a reverse proxy, set YOTO_TRUSTED_PROXIES to its address', { peer });
  };
  /** Per client address; `perUser`: per signed-in user instead (behind `authenticate`). */
  const limited = (what: string, perUser = false): RequestHandler => {
    if (options.rateLimit === false) return (_req, _res, next) => next();
    const store = shared?.rateLimitStore(what) ?? new MemoryStore();
    limiterStores.push(store);
    const limiter: RateLimitRequestHandler = rateLimit({
      windowMs: options.rateLimit?.windowMs ?? 60_000,
      limit: options.rateLimit?.limit ?? 10,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      store,
      // A shared store out of reach (Redis down) lets sign-ins through rather than failing them with 500.
      passOnStoreError: shared !== undefined,
      validate: { xForwardedForHeader: false },
      ...(perUser ? { keyGenerator: (_req: Request, res: Response) => `user:${currentUser(res)?.id ?? ''}` } : {}),
      handler: (req, _res, next) => {
        const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const wait = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : undefined;
        next(new ApiError(429, 'rate_limited', `too many ${what} attempts from ${perUser ? 'this user' : 'this address'}; try again${wait ? ` in ${wait} s` : ' later'}`));
      },
    });
    if (perUser) return limiter;
    return (req, res, next) => {
      sayIgnoredForwardedFor(req);
      return limiter(req, res, next);
    };
  };

  // ---- routes ---------------------------------------------------------------------------

  // Sign-ins revoked before a restart stay refused for the access tokens they may have left.
  for (const familyId of new Set(sessions.list((s) => s.revoked).map((s) => s.familyId))) denyFamily(familyId);

  const router = express.Router();

  router.get('/status', (_req, res) => {
    res.json({ onboarding: users.count() === 0, openRegistration });
  });

  router.post('/onboarding', limited('onboarding'), async (req, res) => {
    const body = parseBody(req.body, { required: { email: fields.email, name: fields.name, password: fields.password } });
    const answer = await serial.run(async () => {
      if (users.count() > 0) throw new ApiError(409, 'already_onboarded', 'the hub already has users; sign in instead');
      const user = await createUser({ email: str(body.email), name: str(body.name), password: str(body.password), role: 'admin' });
      logger.info('first admin created by onboarding', { userId: user.id });
      return signIn(user);
    });
    res.status(201).json(answer);
  });

  router.post('/login', limited('sign-in'), async (req, res) => {
    const body = parseBody(req.body, { required: { email: fields.email, password: fields.anyPassword } });
    const user = findByEmail(str(body.email));
    const matches = await verifyPassword(str(body.password), user?.passwordHash ?? decoyHash);
    if (!user || !matches) throw new ApiError(401, 'invalid_credentials', 'wrong email or password');
    if (user.disabled) throw new ApiError(403, 'account_disabled', 'this account is disabled; ask an admin of the hub');
    const answer = await serial.run(async () => {
      await pruneExpiredSessions();
      return signIn(user);
    });
    res.json(answer);
  });

  router.post('/refresh', limited('refresh'), async (req, res) => {
    const body = parseBody(req.body, { required: { refreshToken: fields.token } });
    // Answered as soon as the rotation is decided, not once the store has written it (an fsync, up
    // to several hundred milliseconds on a busy disk, which a returning user's first page waited
    // for). The next sign-in step waits in `serial` until it is written, so it sees the old token
    // spent and the new one stored. Should the write fail (or the hub stop before it lands), the new
    // token is unknown and the old one was never marked spent: the new one is then taken for a reuse
    // (its family is known) and the whole sign-in revoked, so it fails closed (sign in again).
    // Several instances (`shared`) answer once it is written, as before.
    let answered = false;
    const rotation = new Promise<SignInAnswer>((resolve, reject) => {
      serial
        .run(async () => {
          const { answer, stored } = await refresh(str(body.refreshToken));
          // Other hub instances learn of the rotation from the written store only: there the answer waits for it.
          if (shared) await stored;
          resolve(answer);
          answered = true;
          await stored;
        })
        .catch((error: unknown) => {
          if (answered) logger.error('a refreshed sign-in could not be stored: its next refresh will be refused', { err: error });
          reject(error);
        });
    });
    res.json(await rotation);
  });

  router.post('/logout', async (req, res) => {
    const body = parseBody(req.body, { required: { refreshToken: fields.token } });
    // The access token sent along (if any) is refused from now on too, even when it belongs to another sign-in.
    const bearer = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
    const access = bearer !== undefined ? decode(bearer, ACCESS_AUDIENCE) : undefined;
    if (typeof access === 'object' && typeof access.jti === 'string' && typeof access.exp === 'number') deny(`jti:${access.jti}`, access.exp * 1000);
    const userId = await serial.run(async () => {
      const record = refreshRecords((s) => s.tokenHash === sha256(str(body.refreshToken)))[0];
      if (record) await revokeFamily(record.familyId);
      return record?.userId;
    });
    rightsChanged({ ...(userId !== undefined ? { userId } : {}), reason: 'signed_out' });
    res.status(204).end();
  });

  router.get('/me', authenticate, requireUser, (_req, res) => {
    const user = users.get(currentUser(res)!.id);
    if (!user) throw ApiError.notFound('user');
    res.json(publicUser(user));
  });

  router.post('/invitations', authenticate, requireAdmin, (req, res) => {
    const body = parseBody(req.body, { required: { email: fields.email }, optional: { role: fields.role } });
    const email = str(body.email);
    const role = (body.role ?? 'member') as User['role'];
    if (findByEmail(email)) throw emailTaken();
    const issuedAt = seconds();
    const invitationToken = jwt.sign({ email, role, iat: issuedAt }, secret, {
      algorithm: 'HS256',
      audience: INVITATION_AUDIENCE,
      issuer: ISSUER,
      subject: currentUser(res)!.id,
      jwtid: randomUUID(),
      expiresIn: invitationTtl,
    });
    res.status(201).json({ invitationToken, expiresAt: new Date((issuedAt + invitationTtl) * 1000).toISOString(), email, role });
  });

  router.post('/register', limited('registration'), async (req, res) => {
    const invited = isObject(req.body) && 'invitationToken' in req.body;
    // Without open registration a body without an invitation is told about the invitation,
    // whatever else it lacks, not about the open-registration form.
    if (!invited && !openRegistration) {
      throw new ApiError(403, 'registration_closed', 'registration needs an invitation from an admin of the hub', [{ path: '/invitationToken', message: 'is required' }]);
    }
    const body = invited
      ? parseBody(req.body, { required: { invitationToken: fields.token, name: fields.name, password: fields.password } })
      : parseBody(req.body, { required: { email: fields.email, name: fields.name, password: fields.password } });
    let email: string;
    let role: User['role'] = 'member';
    let invitationId: { id: string; expiresAt: number } | undefined;
    if (invited) {
      const invitation = decode(str(body.invitationToken), INVITATION_AUDIENCE);
      if (invitation === 'expired') throw invalidInvitation('the invitation has expired; ask for a new one');
      if (!invitation || typeof invitation.email !== 'string' || (invitation.role !== 'admin' && invitation.role !== 'member')) {
        throw invalidInvitation('the invitation is not valid');
      }
      if (typeof invitation.jti !== 'string' || spentInvitations.has(invitation.jti)) throw invalidInvitation('the invitation was already used; ask for a new one');
      email = invitation.email;
      role = invitation.role;
      invitationId = { id: invitation.jti, expiresAt: typeof invitation.exp === 'number' ? invitation.exp : seconds() + invitationTtl };
    } else {
      if (!openRegistration) {
        throw new ApiError(403, 'registration_closed', 'registration needs an invitation from an admin of the hub', [
          { path: '/invitationToken', message: 'is required' },
        ]);
      }
      email = str(body.email);
    }
    const answer = await serial.run(async () => {
      if (users.count() === 0) throw new ApiError(409, 'onboarding_required', 'the hub has no admin yet: create one with POST /api/auth/onboarding');
      if (invitationId && spentInvitations.has(invitationId.id)) throw invalidInvitation('the invitation was already used; ask for a new one');
      const user = await createUser({ email, name: str(body.name), password: str(body.password), role });
      // One account per invitation, also once that account is deleted.
      if (invitationId) await spentInvitations.spend(invitationId.id, invitationId.expiresAt, seconds());
      logger.info('user registered', { userId: user.id, role, invited });
      return signIn(user);
    });
    res.status(201).json(answer);
  });

  // ---- API tokens: the caller's own; an admin may revoke anyone's ----

  router.get('/tokens', authenticate, requireUser, (_req, res) => {
    res.json({ tokens: apiTokens.list(currentUser(res)!.id) });
  });

  // Limited per user (10 a minute, as sign-ins per address): one user cannot mint tokens in bulk.
  router.post('/tokens', authenticate, requireUser, limited('API token', true), async (req, res) => {
    const me = currentUser(res)!;
    // A leaked token must not be able to mint a successor that outlives its revocation.
    if (me.apiTokenId !== undefined) throw new ApiError(403, 'api_token_not_allowed', 'an API token cannot create API tokens; sign in to the panel to create one');
    const body = parseBody(req.body, { required: { name: fields.name } });
    const created = await serial.run(async () => {
      if (apiTokens.count(me.id) >= MAX_API_TOKENS_PER_USER) {
        throw new ApiError(409, 'too_many_tokens', `a user may hold at most ${MAX_API_TOKENS_PER_USER} API tokens; revoke one first`);
      }
      return apiTokens.create(me.id, str(body.name));
    });
    logger.info('API token created', { userId: me.id, tokenId: created.view.id });
    res.status(201).json({ ...created.view, token: created.token });
  });

  router.delete('/tokens/:id', authenticate, requireUser, async (req, res) => {
    const me = currentUser(res)!;
    const id = String(req.params['id']);
    const token = apiTokens.get(id);
    // Another user's token is "not found" to a member: whether it exists is not theirs to learn.
    if (!token || (token.userId !== me.id && me.role !== 'admin')) throw ApiError.notFound('API token');
    await serial.run(() => apiTokens.revoke(id));
    logger.info('API token revoked', { userId: token.userId, tokenId: id, by: me.id });
    rightsChanged({ userId: token.userId, reason: 'api_token_revoked' });
    res.status(204).end();
  });

  router.get('/users', authenticate, requireAdmin, (_req, res) => {
    const list = users.list().sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.email.localeCompare(b.email));
    res.json({ users: list.map(publicUser) });
  });

  router.patch('/users/:id', authenticate, requireAdmin, async (req, res) => {
    const body = parseBody(req.body, { required: {}, optional: { role: fields.role, disabled: fields.flag, name: fields.name }, nonEmpty: true });
    const id = String(req.params['id']);
    const me = currentUser(res)!;
    const updated = await serial.run(async () => {
      const user = users.get(id);
      if (!user) throw ApiError.notFound('user');
      if (id === me.id && body.disabled === true) {
        throw new ApiError(409, 'cannot_disable_self', 'you cannot disable your own account', [{ path: '/disabled', message: 'cannot be true for yourself' }]);
      }
      const next = { ...user, ...body } as User;
      const leavesNoAdmin = user.role === 'admin' && !user.disabled && (next.role !== 'admin' || next.disabled === true) && enabledAdmins().length <= 1;
      if (leavesNoAdmin) {
        throw new ApiError(409, 'last_admin', 'the hub needs at least one enabled admin; make another user admin first', [
          { path: body.role !== undefined ? '/role' : '/disabled', message: 'would leave the hub without an enabled admin' },
        ]);
      }
      const patch: Partial<User> = {};
      if (body.name !== undefined) patch.name = str(body.name);
      if (body.role !== undefined) patch.role = body.role as User['role'];
      if (body.disabled !== undefined) patch.disabled = body.disabled === true;
      const saved = await users.update(id, patch);
      if (patch.disabled === true) await revokeUserSessions(id, false);
      return saved;
    });
    rightsChanged({ userId: id, reason: 'user_changed' });
    res.json(publicUser(updated));
  });

  router.delete('/users/:id', authenticate, requireAdmin, async (req, res) => {
    const id = String(req.params['id']);
    if (id === currentUser(res)!.id) throw new ApiError(409, 'cannot_delete_self', 'you cannot delete your own account; another admin can');
    await serial.run(async () => {
      if (!users.get(id)) throw ApiError.notFound('user');
      await revokeUserSessions(id, true);
      await users.delete(id);
    });
    rightsChanged({ userId: id, reason: 'user_deleted' });
    for (const handler of [...deletionHandlers]) {
      try {
        await handler(id);
      } catch (error) {
        // The account is gone either way; what was left is removed at the next start.
        logger.error('could not remove everything a deleted user owned', { userId: id, err: error });
      }
    }
    logger.info('user deleted', { userId: id });
    res.status(204).end();
  });

  let closed = false;
  return {
    router,
    authenticate,
    requireUser,
    requireAdmin,
    apiTokens,
    verifyAccessToken(token) {
      const checked = checkAccessToken(token);
      return checked === 'expired' ? undefined : checked;
    },
    accessTokenExpiresAt(token) {
      const payload = decode(token, ACCESS_AUDIENCE);
      if (typeof payload !== 'object' || typeof payload.exp !== 'number' || checkAccessToken(token) === undefined) return undefined;
      return payload.exp * 1000;
    },
    onRightsChanged(listener) {
      rightsListeners.add(listener);
      return () => rightsListeners.delete(listener);
    },
    needsOnboarding: () => users.count() === 0,
    onUserDeleted(handler) {
      deletionHandlers.add(handler);
      return () => deletionHandlers.delete(handler);
    },
    async ensureAdmin(credentials) {
      let body: Record<string, string | boolean>;
      try {
        body = parseBody(
          { email: credentials.email, password: credentials.password, name: credentials.name ?? 'Admin' },
          { required: { email: fields.email, name: fields.name, password: fields.password } },
        );
      } catch (error) {
        const details = error instanceof ApiError ? error.details.map((d) => `admin ${d.path.slice(1)} ${d.message}`).join('; ') : String(error);
        throw new Error(`cannot create the admin from YOTO_ADMIN_EMAIL / YOTO_ADMIN_PASSWORD: ${details}`);
      }
      return serial.run(async () => {
        if (users.count() > 0) return { created: false };
        const user = await createUser({ email: str(body.email), name: str(body.name), password: str(body.password), role: 'admin' });
        logger.info('admin created from start-up credentials', { userId: user.id, email: user.email });
        return { created: true, user: publicUser(user) };
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const store of limiterStores.splice(0)) await store.shutdown?.();
      stopSharedDenials?.();
      rightsListeners.clear();
      await serial.run(async () => undefined);
      await spentInvitations.idle();
      deletionHandlers.clear();
    },
  };
}

/** Keys refused until a time; expired entries are dropped as new ones come (no timer to release). */
class Denylist {
  private readonly until = new Map<string, number>();

  constructor(private readonly nowMs: () => number) {}

  add(key: string, untilMs: number): void {
    const at = this.nowMs();
    for (const [k, u] of this.until) if (u <= at) this.until.delete(k);
    if (untilMs > at) this.until.set(key, Math.max(untilMs, this.until.get(key) ?? 0));
  }

  has(key: string): boolean {
    const until = this.until.get(key);
    return until !== undefined && until > this.nowMs();
  }
}

/** Runs async steps one at a time, so check-then-write sequences (rotation, onboarding, unique emails) cannot interleave. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.tail.then(step);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export function publicUser(user: User): PublicUser {
  const { passwordHash: _hash, ...rest } = user;
  return rest;
}

function currentUser(res: Response): RequestUser | undefined {
  return (res.locals as { user?: RequestUser }).user;
}

function unauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'sign in first: send Authorization: Bearer <access token>');
}

function invalidRefreshToken(message: string): ApiError {
  return new ApiError(401, 'invalid_refresh_token', message, [{ path: '/refreshToken', message }]);
}

function invalidInvitation(message: string): ApiError {
  return new ApiError(400, 'invalid_invitation', message, [{ path: '/invitationToken', message }]);
}

function emailTaken(): ApiError {
  return new ApiError(409, 'email_taken', 'a user with this email already exists', [{ path: '/email', message: 'is already in use' }]);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function str(value: string | boolean | undefined): string {
  return typeof value === 'string' ? value : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number of seconds`);
  return value;
}
