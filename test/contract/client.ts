import { expect } from 'chai';

/** The admin the contract suite creates the README's way (YOTO_ADMIN_EMAIL / YOTO_ADMIN_PASSWORD on an empty data directory). */
export const ADMIN = { email: 'admin@contract.test', password: 'contract-suite-password-1' };
export const ADMIN_ENV = { YOTO_ADMIN_EMAIL: ADMIN.email, YOTO_ADMIN_PASSWORD: ADMIN.password };

/** The virtual players the README names. */
export const LIVING_ROOM = 'vliving0room0yoto0player';
export const KIDS_BEDROOM = 'vkids0bedroom0yoto0mini0';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON over HTTP, as any client of the hub's API would send it. */
export async function call<T = Record<string, unknown>>(url: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  let body: BodyInit | undefined;
  if (init.body instanceof FormData || typeof init.body === 'string') body = init.body;
  else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** Signs in and returns the access token. */
export async function signIn(hubUrl: string, who: { email: string; password: string } = ADMIN): Promise<string> {
  const answer = await call<{ accessToken: string }>(`${hubUrl}/api/auth/login`, { body: who });
  expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  return answer.body.accessToken;
}

/** A virtual player as the virtual cloud's control API shows it (what a person would see on the device). */
export interface PlayerView {
  deviceId: string;
  name: string;
  online: boolean;
  cardId?: string;
  chapterKey?: string;
  trackKey?: string;
  playbackStatus?: string;
  position?: number;
  volumePercent?: number;
  sleepTimerSeconds?: number;
  nightlight?: string;
}

export async function player(virtualCloudUrl: string, deviceId: string): Promise<PlayerView> {
  const answer = await call<PlayerView | { device: PlayerView }>(`${virtualCloudUrl}/virtual/devices/${deviceId}`);
  expect(answer.status).to.equal(200);
  return 'device' in answer.body ? answer.body.device : answer.body;
}
