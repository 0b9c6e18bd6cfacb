import { bootHandoff, postRefresh, REFRESH_KEY, socketUrl, type BootSocket } from './handoff';

/**
 * The panel's first script: a small classic script index.html runs while the
 * panel's modules are still loading. With a stored session it asks for a fresh
 * access token at once and, with it, opens the WebSocket (subscribed by its URL), so the
 * sign-in round trip and the players' first picture overlap the module loading
 * instead of following it. The modules take both over (handoff.ts).
 */
function boot(): void {
  let refreshToken: string | null = null;
  try {
    refreshToken = localStorage.getItem(REFRESH_KEY);
  } catch {
    return;
  }
  if (!refreshToken) return;
  const handoff = bootHandoff();
  handoff.refresh = postRefresh(refreshToken).then((result) => {
    if (result.session) {
      // The old token is spent: keep the new one now, so a page closed before the modules ran still has a session.
      try {
        localStorage.setItem(REFRESH_KEY, result.session.refreshToken);
      } catch {
        // Storage went away: the auth store keeps the session in memory.
      }
      // Opened before the answer is handed over, so the panel finds the socket when it has the token.
      handoff.socket = openSocket(result.session.accessToken);
      const socket = handoff.socket.socket;
      handoff.firstFrame = new Promise((resolve) => {
        socket.addEventListener('message', () => resolve(), { once: true });
        socket.addEventListener('close', () => resolve(), { once: true });
      });
    }
    return result;
  });
  // A failure is the auth store's to handle when it takes the answer.
  handoff.answered = handoff.refresh.then(() => undefined, () => undefined);
}

function openSocket(token: string): BootSocket {
  const socket = new WebSocket(socketUrl(), ['bearer', token]);
  const frames: string[] = [];
  const onMessage = (event: MessageEvent): void => {
    if (typeof event.data === 'string') frames.push(event.data);
  };
  socket.addEventListener('message', onMessage);
  return {
    socket,
    token,
    frames,
    stop: () => socket.removeEventListener('message', onMessage),
  };
}

boot();
