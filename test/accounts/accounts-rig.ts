import { createAccounts, type Accounts, type AccountsOptions } from '../../server/accounts';
import { HubHttpServer } from '../../server/http/http-server';
import { silentLogger } from '../../server/log/logger';
import { openStore, type Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { makeTempDir } from '../helpers/temp-dir';

export const ADMIN = { email: 'parent@example.com', name: 'Parent', password: 'correct horse battery' };
export const MEMBER = { email: 'kid@example.com', name: 'Kid', password: 'dragons and castles' };

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined for an empty body). */
  body: unknown;
  /** The raw body text. */
  text: string;
}

export interface Rig {
  url: string;
  dataDir: string;
  store: Store;
  accounts: Accounts;
  /** Moves the accounts clock forward. */
  advance(seconds: number): void;
  /** Every response body this rig has seen, to check that no secret ever leaves the hub. */
  readonly seen: string[];
  request(method: string, path: string, options?: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> }): Promise<Answer>;
  close(): Promise<void>;
}

/** Store, accounts and the real hub HTTP server on port 0, with the router mounted at /api/auth. */
export async function startRig(options: Partial<Omit<AccountsOptions, 'store'>> = {}, dataDir?: string): Promise<Rig> {
  const dir = dataDir ?? (await makeTempDir('accounts'));
  const panelDir = await makeTempDir('accounts-panel');
  let current = Date.parse('2026-01-10T08:00:00Z');
  const store = await openStore({ dataDir: dir, validate: storeValidator(), logger: silentLogger });
  const accounts = await createAccounts({ rateLimit: { limit: 1000 }, now: () => new Date(current), ...options, store });
  const server = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir, logger: silentLogger });
  server.mountApi('/auth', accounts.router);
  await server.listen();
  const seen: string[] = [];
  return {
    url: server.url,
    dataDir: dir,
    store,
    accounts,
    seen,
    advance(seconds) {
      current += seconds * 1000;
    },
    async request(method, path, { body, raw, token, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      const h = init.headers as Record<string, string>;
      if (token !== undefined) h['authorization'] = `Bearer ${token}`;
      if (raw !== undefined || body !== undefined) {
        h['content-type'] ??= 'application/json';
        init.body = raw ?? JSON.stringify(body);
      }
      const response = await fetch(`${server.url}/api/auth${path}`, init);
      const text = await response.text();
      seen.push(text);
      return { status: response.status, headers: response.headers, text, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    },
    async close() {
      await server.close();
      await accounts.close();
      await store.close();
    },
  };
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; email: string; name: string; role: string; disabled?: boolean };
}

export function tokens(answer: Answer): Tokens {
  return answer.body as Tokens;
}

export interface ErrorBody {
  error: { code: string; message: string; details: Array<{ path: string; message: string }> };
}

export function errorOf(answer: Answer): ErrorBody['error'] {
  return (answer.body as ErrorBody).error;
}

/** Onboards ADMIN and returns the admin's tokens. */
export async function onboard(rig: Rig): Promise<Tokens> {
  const answer = await rig.request('POST', '/onboarding', { body: ADMIN });
  if (answer.status !== 201) throw new Error(`onboarding failed: ${answer.status} ${answer.text}`);
  return tokens(answer);
}

/** Invites and registers `who` (a member unless `role` says otherwise); returns their tokens. */
export async function addUser(rig: Rig, admin: Tokens, who: { email: string; name: string; password: string }, role = 'member'): Promise<Tokens> {
  const invitation = await rig.request('POST', '/invitations', { token: admin.accessToken, body: { email: who.email, role } });
  if (invitation.status !== 201) throw new Error(`invitation failed: ${invitation.status} ${invitation.text}`);
  const { invitationToken } = invitation.body as { invitationToken: string };
  const registered = await rig.request('POST', '/register', { body: { invitationToken, name: who.name, password: who.password } });
  if (registered.status !== 201) throw new Error(`registration failed: ${registered.status} ${registered.text}`);
  return tokens(registered);
}
