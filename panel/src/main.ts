import { YotoApp } from './app/yoto-app';
import { bootSettled } from './boot/handoff';

/**
 * The panel's entry. With a stored session the boot script (boot/boot.ts) is refreshing it, and
 * its answer opens the WebSocket, which asks for every player in its URL. The panel's element is
 * defined (and so first rendered) only once that answer is in and, on the Dashboard, the players'
 * first picture (each wait at most BOOT_WAIT_MS): the page's main thread is free for the answer
 * and the socket when they arrive, and the Dashboard renders once, with its cards, instead of an
 * empty shell whose render (~50-70 ms of script on a busy machine) the socket waited behind. The
 * panel cannot show more than its header before the answer anyway.
 */
const BOOT_WAIT_MS = 1000;

await bootSettled({ maxWaitMs: BOOT_WAIT_MS, firstPicture: location.pathname === '/' });
customElements.define('yoto-app', YotoApp);
