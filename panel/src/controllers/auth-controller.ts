import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { auth, type AuthStore } from '../state/auth-store';

/** Re-renders the host whenever the sign-in state changes. */
export class AuthController implements ReactiveController {
  readonly auth: AuthStore = auth;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    this.unsubscribe = this.auth.subscribe(() => this.host.requestUpdate());
  }

  hostDisconnected(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
