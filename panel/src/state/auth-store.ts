import { errorFrom, type User } from '../api/types';
import { postRefresh, REFRESH_KEY, takeBootRefresh } from '../boot/handoff';
import { ChangeNotifier } from './change-notifier';

/** Where the panel stands with the hub's accounts. */
export type AuthPhase = 'unknown' | 'onboarding' | 'signed-out' | 'signed-in';

interface SessionAnswer {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

/** Refresh the access token this long before it expires. */
const REFRESH_MARGIN_S = 30;

/**
 * The one place that knows who is signed in: the access token in memory, the
 * refresh token in localStorage. Every request to the hub goes through
 * `fetch()`, which adds the bearer header and, on a 401, refreshes once and retries.
 */
export class AuthStore extends ChangeNotifier {
  phase: AuthPhase = 'unknown';
  user: User | undefined;
  accessToken: string | undefined;
  /** Resolves once the first status check (and refresh, when a token is stored) is done. */
  readonly ready: Promise<void>;
  private refreshing: Promise<boolean> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.ready = this.init();
  }

  /** True when a session is stored (or live): a signed-in view is the likely next page. */
  get hasSession(): boolean {
    return this.phase === 'signed-in' || storedRefreshToken() !== undefined;
  }

  private async init(): Promise<void> {
    // A stored session first: when it is still good, that one round trip is the whole check.
    if (storedRefreshToken() && (await this.refresh())) return;
    try {
      const response = await fetch('/api/auth/status', { headers: { accept: 'application/json' } });
      if (!response.ok) throw await errorFrom(response);
      const status = (await response.json()) as { onboarding: boolean };
      if (status.onboarding) {
        this.setPhase('onboarding');
        return;
      }
    } catch {
      // The hub is unreachable: sign-in will say so.
    }
    this.setPhase('signed-out');
  }

  async onboard(input: { email: string; name: string; password: string }): Promise<void> {
    await this.signIn('/api/auth/onboarding', input);
  }

  async login(input: { email: string; password: string }): Promise<void> {
    await this.signIn('/api/auth/login', input);
  }

  private async signIn(url: string, body: object): Promise<void> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw await errorFrom(response);
    this.accept((await response.json()) as SessionAnswer);
  }

  /** Trades the stored refresh token for a new pair; one refresh at a time. False (and signed out) when it is refused. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    // The boot script may have asked already, with the same stored token (which is single use).
    const refreshToken = storedRefreshToken();
    const asked = takeBootRefresh() ?? (refreshToken ? postRefresh(refreshToken) : undefined);
    if (!asked) {
      this.clear();
      return false;
    }
    try {
      const result = await asked;
      if (!result.session) {
        // A refused token is spent for good; a hub error (5xx, rate limit) keeps it for a later try.
        if (result.status === 400 || result.status === 401 || result.status === 403) this.clear();
        else if (this.phase === 'unknown') this.setPhase('signed-out');
        return false;
      }
      this.accept(result.session as SessionAnswer);
      return true;
    } catch {
      if (this.phase === 'unknown') this.setPhase('signed-out');
      return false;
    }
  }

  async logout(): Promise<void> {
    const refreshToken = storedRefreshToken();
    this.clear();
    if (refreshToken) {
      await fetch('/api/auth/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) }).catch(() => undefined);
    }
  }

  /** fetch() with the access token; a 401 refreshes the session once and retries. */
  async fetch(input: string, init: RequestInit = {}): Promise<Response> {
    const send = (): Promise<Response> => {
      const headers = new Headers(init.headers);
      if (this.accessToken) headers.set('authorization', `Bearer ${this.accessToken}`);
      if (!headers.has('accept')) headers.set('accept', 'application/json');
      return fetch(input, { ...init, headers });
    };
    const response = await send();
    if (response.status !== 401 || !storedRefreshToken()) return response;
    if (!(await this.refresh())) return response;
    return send();
  }

  /** fetch() that answers the parsed JSON, or throws the hub's error. */
  async json<T>(input: string, init: RequestInit & { body?: BodyInit | null } = {}): Promise<T> {
    const response = await this.fetch(input, init);
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private accept(answer: SessionAnswer): void {
    this.accessToken = answer.accessToken;
    this.user = answer.user;
    try {
      localStorage.setItem(REFRESH_KEY, answer.refreshToken);
    } catch {
      // Private mode without storage: the session lasts as long as the page.
    }
    memoryRefreshToken = answer.refreshToken;
    clearTimeout(this.timer);
    const seconds = Math.max(5, answer.expiresIn - REFRESH_MARGIN_S);
    this.timer = setTimeout(() => void this.refresh(), seconds * 1000);
    this.setPhase('signed-in');
  }

  private clear(): void {
    clearTimeout(this.timer);
    this.accessToken = undefined;
    this.user = undefined;
    memoryRefreshToken = undefined;
    try {
      localStorage.removeItem(REFRESH_KEY);
    } catch {
      // nothing stored
    }
    this.setPhase('signed-out');
  }

  private setPhase(phase: AuthPhase): void {
    this.phase = phase;
    this.notify();
  }
}

let memoryRefreshToken: string | undefined;

function storedRefreshToken(): string | undefined {
  try {
    return localStorage.getItem(REFRESH_KEY) ?? memoryRefreshToken;
  } catch {
    return memoryRefreshToken;
  }
}

export const auth = new AuthStore();
