/**
 * Long-lived API tokens: what a script, a remote Node-RED (yoto-hub node in
 * "Remote hub" mode) or another machine uses instead of signing in. A user
 * names one in the panel's Settings or with POST /api/auth/tokens; the token
 * is shown once and only its SHA-256 is kept, in the `sessions` collection
 * (kind "api"), next to the refresh tokens it resembles.
 *
 * A token is `yhub_<record id>_<43 random characters>`: the id finds the
 * record, the hash of the whole token is compared in constant time. It
 * carries its user's rights as they are at each request (the user's current
 * role, refused once the user is disabled or deleted), never more; revoking
 * it ends its rights at once (the caller tells the WebSocket gateway to check
 * its sockets again).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { RequestUser } from '../http/request-user';
import type { Repository, Store } from '../store';
import type { Session, User } from '../types/schemas';

export const API_TOKEN_PREFIX = 'yhub_';
/** A session record that is an API token never expires by itself: it lasts until revoked. */
const NEVER = '9999-12-31T23:59:59.999Z';
/** A user may hold this many live API tokens. */
export const MAX_API_TOKENS_PER_USER = 50;

/** An API token as its owner sees it (never the token itself after creation). */
export interface ApiTokenView {
  id: string;
  name: string;
  userId: string;
  createdAt: string;
  lastUsedAt?: string;
}

export function isApiToken(token: string): boolean {
  return token.startsWith(API_TOKEN_PREFIX);
}

export class ApiTokens {
  private readonly sessions: Repository<Session>;
  private readonly users: Repository<User>;
  /** When each token was last used, written at most once a minute per token. */
  private readonly lastWrite = new Map<string, number>();

  constructor(store: Store, private readonly now: () => Date) {
    this.sessions = store.collection('sessions');
    this.users = store.users;
  }

  /** Creates a token for `userId`; the token text is in the answer only. */
  async create(userId: string, name: string): Promise<{ token: string; view: ApiTokenView }> {
    const id = randomUUID();
    const token = `${API_TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const at = this.now().toISOString();
    const record = await this.sessions.insert({
      id,
      kind: 'api',
      name,
      tokenHash: sha256(token),
      familyId: id,
      userId,
      used: false,
      revoked: false,
      createdAt: at,
      expiresAt: NEVER,
    });
    return { token, view: view(record) };
  }

  /** The live tokens of a user, oldest first. */
  list(userId: string): ApiTokenView[] {
    return this.sessions
      .list((s) => s.kind === 'api' && s.userId === userId && !s.revoked)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(view);
  }

  count(userId: string): number {
    return this.sessions.list((s) => s.kind === 'api' && s.userId === userId && !s.revoked).length;
  }

  /** A live token by id (undefined when there is none, or it is revoked). */
  get(id: string): ApiTokenView | undefined {
    const record = this.sessions.get(id);
    return record && record.kind === 'api' && !record.revoked ? view(record) : undefined;
  }

  /** Deletes a token: it stops working at the next request. */
  async revoke(id: string): Promise<boolean> {
    const record = this.sessions.get(id);
    if (!record || record.kind !== 'api') return false;
    await this.sessions.delete(id);
    this.lastWrite.delete(id);
    return true;
  }

  /**
   * The caller of a token: its user as they are now (current role and email), or undefined for a
   * token that is unknown, revoked, or whose user is disabled or gone.
   */
  verify(token: string): RequestUser | undefined {
    const record = this.recordOf(token);
    if (!record) return undefined;
    const user = this.users.get(record.userId);
    if (!user || user.disabled) return undefined;
    this.touch(record);
    return { id: user.id, email: user.email, role: user.role, apiTokenId: record.id };
  }

  private recordOf(token: string): Session | undefined {
    if (!isApiToken(token) || token.length > 256) return undefined;
    const rest = token.slice(API_TOKEN_PREFIX.length);
    const cut = rest.indexOf('_');
    if (cut <= 0) return undefined;
    const record = this.sessions.get(rest.slice(0, cut));
    if (!record || record.kind !== 'api' || record.revoked) return undefined;
    // Both are 32-byte digests: timingSafeEqual compares them in constant time.
    const presented = Buffer.from(sha256(token), 'hex');
    const stored = Buffer.from(record.tokenHash, 'hex');
    return presented.length === stored.length && timingSafeEqual(presented, stored) ? record : undefined;
  }

  private touch(record: Session): void {
    const at = this.now().getTime();
    if (at - (this.lastWrite.get(record.id) ?? 0) < 60_000) return;
    this.lastWrite.set(record.id, at);
    // Best effort: a token revoked meanwhile is simply gone.
    this.sessions.update(record.id, { lastUsedAt: new Date(at).toISOString() }).catch(() => undefined);
  }
}

function view(record: Session): ApiTokenView {
  return {
    id: record.id,
    name: record.name ?? '',
    userId: record.userId,
    createdAt: record.createdAt,
    ...(record.lastUsedAt ? { lastUsedAt: record.lastUsedAt } : {}),
  };
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
