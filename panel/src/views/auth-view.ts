import { LitElement, css, html, nothing } from 'lit';
import { ApiRequestError } from '../api/types';
import { sharedStyles } from '../components/shared-styles';
import { auth } from '../state/auth-store';
import { internalState } from '../components/internal-state';

/** Onboarding (creates the first admin) and sign-in; the shell moves on once `auth` says signed in. */
export class YotoAuthView extends LitElement {
  static override properties = {
    mode: { type: String },
    ...internalState('error', 'busy'),
  };

  declare mode: 'onboarding' | 'login';
  declare error: string | undefined;
  declare busy: boolean;

  constructor() {
    super();
    this.mode = 'login';
    this.busy = false;
  }

  static override styles = [
    sharedStyles,
    css`
      form { max-width: 380px; margin: 2rem auto; display: flex; flex-direction: column; gap: 0.75rem; }
      label { display: flex; flex-direction: column; gap: 0.25rem; font-size: 0.9rem; }
      .hint { font-size: 0.8rem; color: var(--muted); }
    `,
  ];

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const email = String(data.get('email') ?? '');
    const password = String(data.get('password') ?? '');
    this.busy = true;
    this.error = undefined;
    try {
      if (this.mode === 'onboarding') await auth.onboard({ email, password, name: String(data.get('name') ?? '') });
      else await auth.login({ email, password });
    } catch (error) {
      this.error = error instanceof ApiRequestError && error.details.length > 0
        ? `${error.message}: ${error.details.map((detail) => `${detail.path.replace('/', '')} ${detail.message}`).join('; ')}`
        : (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const onboarding = this.mode === 'onboarding';
    return html`
      <form class="card" @submit=${(event: SubmitEvent) => void this.submit(event)} aria-labelledby="title">
        <h2 id="title">${onboarding ? 'Welcome: create the admin account' : 'Sign in'}</h2>
        ${onboarding ? html`<p class="muted">This hub has no accounts yet. The first one is its administrator.</p>` : nothing}
        ${onboarding ? html`<label>Name <input name="name" autocomplete="name" required maxlength="100"></label>` : nothing}
        <label>Email <input name="email" type="email" autocomplete=${onboarding ? 'email' : 'username'} required></label>
        <label>Password
          <input name="password" type="password" autocomplete=${onboarding ? 'new-password' : 'current-password'} required minlength=${onboarding ? 10 : 1}>
          ${onboarding ? html`<span class="hint">At least 10 characters.</span>` : nothing}
        </label>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
        <button class="primary" type="submit" ?disabled=${this.busy}>${onboarding ? 'Create account' : 'Sign in'}</button>
      </form>
    `;
  }
}

customElements.define('yoto-auth-view', YotoAuthView);
