/**
 * What the boot script (panel/src/boot/boot.ts, a classic script in index.html)
 * starts before the panel's modules have loaded, and hands over to them: the
 * stored session's refresh and the live connection. Both are used once.
 */
export interface BootHandoff {
  /** The answer to POST /api/auth/refresh with the stored refresh token (the token is spent: use this answer, never refresh again). Resolves once `socket` is set. */
  refresh?: Promise<RefreshResult>;
  /** The WebSocket opened with the refreshed access token, with batches and device.* asked for in its URL. */
  socket?: BootSocket;
  /** Settles once the refresh is answered (and `socket` set when it opened one); never rejects, never taken. */
  answered?: Promise<void>;
  /** Resolves once the boot's socket received its first frame or closed; set with `socket`, never taken. */
  firstFrame?: Promise<void>;
}

export interface BootSocket {
  socket: WebSocket;
  /** The access token it runs on. */
  token: string;
  /** Frames received before the panel took the socket over, in order. */
  frames: string[];
  /** Stops collecting frames (the panel listens itself from now on). */
  stop(): void;
}

/** POST /api/auth/refresh's answer: the new session, or the status it was refused with. */
export interface RefreshResult {
  status: number;
  session?: { accessToken: string; refreshToken: string; expiresIn: number; user: unknown };
}

/** Trades a refresh token for a new session (the boot script and the auth store both ask this way). */
export async function postRefresh(refreshToken: string): Promise<RefreshResult> {
  const response = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ refreshToken }) });
  if (!response.ok) return { status: response.status };
  return { status: response.status, session: (await response.json()) as RefreshResult['session'] };
}

/** The refresh token's key in localStorage (the auth store's too). */
export const REFRESH_KEY = 'yoto.refreshToken';

/**
 * The panel's WebSocket URL. It asks in the upgrade for batches and every player the user may see
 * (what the messages `options` and `subscribe` would ask), so the hub sends the players' first
 * picture as soon as the socket is open, without waiting for this page's main thread to send them.
 */
export function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?batch=true&subscribe=device.*`;
}

const GLOBAL_KEY = '__yotoBoot';

export function bootHandoff(): BootHandoff {
  const holder = globalThis as unknown as Record<string, BootHandoff | undefined>;
  holder[GLOBAL_KEY] ??= {};
  return holder[GLOBAL_KEY];
}

/**
 * Resolves when the panel should render: at once without a stored session; otherwise once the
 * boot's refresh is answered (its socket is then opening) and, with `firstPicture`, once that
 * socket's first frame is in (or it closed); each wait at most `maxWaitMs`. Never rejects.
 */
export async function bootSettled(options: { maxWaitMs: number; firstPicture: boolean }): Promise<void> {
  const handoff = bootHandoff();
  const answered = handoff.answered;
  const within = (promise: Promise<unknown>): Promise<unknown> => Promise.race([promise, new Promise((resolve) => setTimeout(resolve, options.maxWaitMs))]);
  if (!answered) return;
  await within(answered);
  // Set with the socket, once the refresh is answered.
  const firstFrame = handoff.firstFrame;
  if (options.firstPicture && firstFrame) await within(firstFrame);
}

/** The boot's refresh answer, once; undefined when there is none (or it was taken). */
export function takeBootRefresh(): Promise<RefreshResult> | undefined {
  const handoff = bootHandoff();
  const refresh = handoff.refresh;
  handoff.refresh = undefined;
  return refresh;
}

/** The boot's WebSocket, once, when it runs on `token` and is not closed; otherwise it is closed and undefined. */
export function takeBootSocket(token: string): BootSocket | undefined {
  const handoff = bootHandoff();
  const boot = handoff.socket;
  handoff.socket = undefined;
  if (!boot) return undefined;
  boot.stop();
  const usable = boot.token === token && (boot.socket.readyState === WebSocket.OPEN || boot.socket.readyState === WebSocket.CONNECTING);
  if (usable) return boot;
  boot.socket.close(1000, 'not needed');
  return undefined;
}
