import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { devices, type DeviceStore } from '../state/device-store';
import { deviceStream } from '../state/device-stream';

/**
 * Connects a view to the shared device stream: while the host is in the
 * document the WebSocket stays open and every store change re-renders the
 * host. With `tick`, the host also re-renders every second while a player
 * plays, so progress bars move between the hub's (coalesced) updates.
 */
export class DeviceStreamController implements ReactiveController {
  readonly store: DeviceStore = devices;
  /** The time of the last tick, to pass down so cards advance their position. */
  now = Date.now();
  private unsubscribe: (() => void) | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly host: ReactiveControllerHost, private readonly options: { tick?: boolean } = {}) {
    host.addController(this);
  }

  hostConnected(): void {
    this.unsubscribe = this.store.subscribe(() => this.host.requestUpdate());
    deviceStream.acquire();
    if (this.options.tick) {
      this.ticker = setInterval(() => {
        if (![...this.store.devices.values()].some((entry) => entry.playback?.state === 'playing')) return;
        this.now = Date.now();
        this.host.requestUpdate();
      }, 1000);
    }
  }

  hostDisconnected(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.ticker);
    deviceStream.release();
  }
}
