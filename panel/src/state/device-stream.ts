import type { WsServerMessage } from '../api/types';
import { socketUrl, takeBootSocket } from '../boot/handoff';
import { auth, type AuthStore } from './auth-store';
import { devices, type DeviceStore } from './device-store';

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
/** The hub closes a socket whose access token expired or was revoked with this code. */
const UNAUTHORIZED_CLOSE = 4401;

/**
 * The panel's one WebSocket to /ws, shared by every view. It is open while
 * someone uses it and a user is signed in; it reconnects with exponential
 * backoff (refreshing the token when the hub says 4401, or refused the
 * upgrade: a browser cannot see that 401), hands the socket every refreshed
 * access token (`renew`) so it is not closed when the old one expires,
 * subscribes to `device.*` on every (re)connection (in the socket's URL) and feeds the device store.
 */
export class DeviceStream {
  private socket: WebSocket | undefined;
  private users = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** The access token the open socket runs on. */
  private socketToken: string | undefined;

  constructor(private readonly authStore: AuthStore, private readonly store: DeviceStore) {
    authStore.subscribe(() => {
      if (authStore.phase === 'signed-in') {
        this.renewIfNeeded();
        this.connectIfNeeded();
      }
      else {
        this.close();
        store.reset();
      }
    });
  }

  acquire(): void {
    this.users++;
    this.connectIfNeeded();
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) this.close();
  }

  private connectIfNeeded(): void {
    if (this.users === 0 || this.socket || this.retryTimer || !this.authStore.accessToken) return;
    const token = this.authStore.accessToken;
    this.store.setConnection(this.attempt === 0 ? 'connecting' : 'reconnecting');
    // The socket the boot script opened with this token while the modules loaded, when there is one.
    const boot = takeBootSocket(token);
    let socket: WebSocket;
    try {
      socket = boot?.socket ?? new WebSocket(socketUrl(), ['bearer', token]);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.socketToken = token;
    let opened = false;
    // The first picture (a status and a playback per player, then `subscribed`) is applied in one
    // go once complete, so the Dashboard renders every card once instead of growing frame by frame.
    let firstPicture: WsServerMessage[] | undefined = [];
    // Batches (at most one frame every 20 ms: an array of messages, the latest state per player in each)
    // and every player are asked for in the socket's URL: the first picture follows the upgrade.
    const onOpen = (): void => {
      opened = true;
      this.attempt = 0;
      this.renewIfNeeded();
      this.store.setConnection('open');
      this.pingTimer = setInterval(() => this.ping(socket), PING_EVERY_MS);
    };
    const onFrame = (data: string): void => {
      let frame: WsServerMessage | WsServerMessage[];
      try {
        frame = JSON.parse(data) as WsServerMessage | WsServerMessage[];
      } catch {
        return;
      }
      const messages = Array.isArray(frame) ? frame : [frame];
      if (messages.some((message) => message.type === 'pong')) clearTimeout(this.pongTimer);
      if (firstPicture) {
        if (messages.every((message) => message.type === 'device.status' || message.type === 'device.playback')) {
          firstPicture.push(...messages);
          return;
        }
        const held = firstPicture;
        firstPicture = undefined;
        this.store.applyAll([...held, ...messages]);
        return;
      }
      // A frame's messages change the store once: one render for a whole batch.
      this.store.applyAll(messages);
    };
    if (socket.readyState === WebSocket.OPEN) onOpen();
    else socket.addEventListener('open', onOpen);
    for (const frame of boot?.frames ?? []) onFrame(frame);
    socket.addEventListener('message', (event: MessageEvent) => {
      if (typeof event.data === 'string') onFrame(event.data);
    });
    socket.addEventListener('close', (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.dropSocket();
      if (this.users === 0 || this.authStore.phase !== 'signed-in') {
        this.store.setConnection('idle');
        return;
      }
      if (event.code === UNAUTHORIZED_CLOSE || !opened) {
        // Refused at the upgrade (the hub is down, or the token is no longer good) or closed for the token:
        // a fresh token first; a refresh the hub refuses signs out, one that cannot reach it retries later.
        this.store.setConnection('reconnecting');
        void this.authStore.refresh().then(() => {
          if (this.authStore.phase === 'signed-in') this.scheduleReconnect();
        });
        return;
      }
      this.scheduleReconnect();
    });
  }

  /** Gives the open socket the current access token when it runs on an older one. */
  private renewIfNeeded(): void {
    const socket = this.socket;
    const token = this.authStore.accessToken;
    if (!socket || socket.readyState !== WebSocket.OPEN || !token || token === this.socketToken) return;
    socket.send(JSON.stringify({ type: 'renew', accessToken: token }));
    this.socketToken = token;
  }

  private ping(socket: WebSocket): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: 'ping' }));
    clearTimeout(this.pongTimer);
    // No answer: the connection is dead without a close; drop it and reconnect.
    this.pongTimer = setTimeout(() => socket.close(4000, 'no pong'), PONG_WITHIN_MS);
  }

  private scheduleReconnect(): void {
    this.store.setConnection('reconnecting');
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connectIfNeeded();
    }, delay);
  }

  private dropSocket(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.socket = undefined;
    this.socketToken = undefined;
  }

  private close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.attempt = 0;
    const socket = this.socket;
    this.dropSocket();
    socket?.close(1000, 'not needed');
    this.store.setConnection('idle');
  }
}

export const deviceStream = new DeviceStream(auth, devices);
