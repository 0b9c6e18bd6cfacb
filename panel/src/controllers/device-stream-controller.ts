import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { devices, type DeviceStore } from '../state/device-store';
import { deviceStream } from '../state/device-stream';

/**
 * Connects a view to the shared device stream: while the host is in the
 * document the WebSocket stays open and store changes re-render the host, at
 * most once per animation frame (the hub's first picture is two messages per
 * player, each its own task: 400 renders of the Dashboard for 200 players if
 * each re-rendered). With `tick`, the host also re-renders every second while
 * a player plays, so progress bars move between the hub's (coalesced) updates.
 */
export class DeviceStreamController implements ReactiveController {
  readonly store: DeviceStore = devices;
  /** The time of the last tick, to pass down so cards advance their position. */
  now = Date.now();
  private unsubscribe: (() => void) | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private frame: number | undefined;

  constructor(private readonly host: ReactiveControllerHost, private readonly options: { tick?: boolean } = {}) {
    host.addController(this);
  }

  hostConnected(): void {
    this.unsubscribe = this.store.subscribe(() => this.renderNextFrame());
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
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    clearInterval(this.ticker);
    deviceStream.release();
  }

  private renderNextFrame(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      this.host.requestUpdate();
    });
  }
}
