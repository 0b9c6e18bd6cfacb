import { LitElement, css, html, nothing } from 'lit';
import { deleteUser, invite, listUsers, patchUser, type User } from '../api/content';
import { fetchHealth, type ComponentHealth } from '../api/health';
import '../components/confirm-delete';
import '../components/api-tokens';
import { sharedStyles } from '../components/shared-styles';
import { AuthController } from '../controllers/auth-controller';
import { auth } from '../state/auth-store';
import type { HubConfig } from '../../../server/types/schemas';
import { internalState } from '../components/internal-state';
import { removeListed } from '../components/remove-listed';

/** GET /api/system/cloud/sign-in */
interface SignInState {
  available: boolean;
  signedIn: boolean;
  active?: 'virtual' | 'yoto';
  scopes: string[];
  url?: string;
  redirectUri?: string;
  problem?: string;
}

interface ConfigAnswer {
  config: HubConfig;
  saved?: HubConfig;
  file: string;
}

/**
 * Settings: the Yoto account (cloud mode, and the sign-in link when the hub
 * waits for one), the broker and public URL (admins edit; each change needs a
 * restart), users and invitations (admins only), and the user's own API tokens.
 */
export class YotoSettingsView extends LitElement {
  static override properties = internalState('cloud', 'config', 'users', 'error', 'configNotice', 'invitation', 'signIn', 'signInNotice');

  declare cloud: ComponentHealth | undefined;
  declare config: ConfigAnswer | undefined;
  declare users: User[] | undefined;
  declare error: string | undefined;
  declare configNotice: { ok: boolean; message: string; restart: string[] } | undefined;
  declare invitation: { email: string; role: string; token: string; expiresAt: string } | undefined;
  declare signIn: SignInState | undefined;
  declare signInNotice: { ok: boolean; message: string } | undefined;
  private readonly session = new AuthController(this);

  static override styles = [
    sharedStyles,
    css`
      section { margin-bottom: 1rem; }
      form.fields { display: grid; gap: 0.6rem; max-width: 36rem; }
      label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.875rem; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 0.5rem; }
      dt { color: var(--muted); }
      dd { margin: 0; overflow-wrap: anywhere; }
      table { width: 100%; border-collapse: collapse; }
      th, td { text-align: left; padding: 0.4rem 0.3rem; border-bottom: 1px solid color-mix(in srgb, var(--fg) 10%, transparent); vertical-align: middle; }
      td.actions { display: flex; gap: 0.3rem; flex-wrap: wrap; }
      .token { font-family: ui-monospace, monospace; font-size: 0.8rem; overflow-wrap: anywhere; background: var(--bg); padding: 0.4rem; border-radius: 6px; }
      @media (max-width: 600px) {
        thead { display: none; }
        table, tbody, tr, td { display: block; }
        tr { padding: 0.5rem 0; border-bottom: 1px solid color-mix(in srgb, var(--fg) 10%, transparent); }
        td { border: 0; padding: 0.2rem 0; }
      }
    `,
  ];

  private get isAdmin(): boolean {
    return this.session.auth.user?.role === 'admin';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      const [health, config] = await Promise.all([fetchHealth(), auth.json<ConfigAnswer>('/api/system/config')]);
      this.cloud = health.components?.['cloud'];
      this.config = config;
      if (this.isAdmin) {
        this.users = await listUsers();
        this.signIn = await auth.json<SignInState>('/api/system/cloud/sign-in');
      }
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private async saveConfig(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const current = this.config;
    if (!current) return;
    const form = new FormData(event.target as HTMLFormElement);
    const brokerUrl = String(form.get('brokerUrl') ?? '').trim();
    const publicUrl = String(form.get('publicUrl') ?? '').trim();
    const base = current.saved ?? current.config;
    const { url: _url, ...broker } = base.broker;
    const { publicUrl: _public, ...http } = base.http;
    const next: HubConfig = {
      dataDir: base.dataDir,
      logLevel: base.logLevel,
      cloud: base.cloud,
      broker: { ...broker, ...(brokerUrl ? { url: brokerUrl } : {}) },
      http: { ...http, ...(publicUrl ? { publicUrl } : {}) },
    };
    try {
      const answer = await auth.json<{ restartRequired: string[]; config: HubConfig }>('/api/system/config', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(next),
      });
      this.config = { ...current, saved: answer.config };
      this.configNotice = { ok: true, message: answer.restartRequired.length > 0 ? 'Saved. Restart the hub to apply:' : 'Saved; nothing differs from the running settings.', restart: answer.restartRequired };
    } catch (error) {
      this.configNotice = { ok: false, message: `Not saved: ${(error as Error).message}`, restart: [] };
    }
  }

  /** A sign-in link: the waiting one, or a new one (`fresh`) when the old one timed out or was used. */
  private async requestLink(fresh: boolean): Promise<void> {
    try {
      this.signIn = await auth.json<SignInState>('/api/system/cloud/sign-in', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fresh }),
      });
      this.signInNotice = fresh ? { ok: true, message: 'A new sign-in link is ready.' } : undefined;
    } catch (error) {
      this.signInNotice = { ok: false, message: (error as Error).message };
    }
  }

  /** A hub on another machine: the address the browser ended on after signing in finishes the sign-in. */
  private async completeSignIn(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const formElement = event.target as HTMLFormElement;
    const url = String(new FormData(formElement).get('address') ?? '').trim();
    try {
      this.signIn = await auth.json<SignInState>('/api/system/cloud/sign-in/complete', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url }),
      });
      this.signInNotice = { ok: true, message: 'Signed in: the hub now uses your Yoto account.' };
      formElement.reset();
      this.cloud = (await fetchHealth()).components?.['cloud'];
    } catch (error) {
      this.signInNotice = { ok: false, message: (error as Error).message };
      this.signIn = await auth.json<SignInState>('/api/system/cloud/sign-in').catch(() => this.signIn);
    }
  }

  private async invite(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const formElement = event.target as HTMLFormElement;
    const form = new FormData(formElement);
    const email = String(form.get('email') ?? '').trim();
    const role = form.get('role') === 'admin' ? 'admin' : 'member';
    try {
      const answer = await invite(email, role);
      this.invitation = { email: answer.email, role: answer.role, token: answer.invitationToken, expiresAt: answer.expiresAt };
      this.error = undefined;
      formElement.reset();
    } catch (error) {
      this.error = `Invitation failed: ${(error as Error).message}`;
    }
  }

  private async patch(user: User, patch: { role?: User['role']; disabled?: boolean }): Promise<void> {
    try {
      const updated = await patchUser(user.id, patch);
      this.users = (this.users ?? []).map((candidate) => (candidate.id === user.id ? updated : candidate));
      this.error = undefined;
    } catch (error) {
      this.error = (error as Error).message;
      this.users = [...(this.users ?? [])];
    }
  }

  private async removeItem(user: User): Promise<void> {
    const outcome = await removeListed(this.users, user, deleteUser);
    if ('error' in outcome) this.error = outcome.error;
    else this.users = outcome.list;
  }

  override render() {
    return html`
      <h2>Settings</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.renderCloud()}
      ${this.renderConfig()}
      ${this.isAdmin ? this.renderUsers() : nothing}
      <yoto-api-tokens></yoto-api-tokens>
    `;
  }

  private renderCloud() {
    const cloud = this.cloud;
    const signInUrl = typeof cloud?.['signInUrl'] === 'string' ? cloud['signInUrl'] : undefined;
    return html`<section class="card" aria-labelledby="cloud-title">
      <h3 id="cloud-title">Yoto account</h3>
      ${cloud
        ? html`<dl>
            <dt>Status</dt><dd data-testid="cloud-status">${cloud.status}${typeof cloud['state'] === 'string' ? ` (${cloud['state']})` : ''}</dd>
            <dt>Mode</dt><dd data-testid="cloud-mode">${String(cloud['mode'] ?? '–')}</dd>
            <dt>Connected to</dt><dd data-testid="cloud-active">${typeof cloud['active'] === 'string' ? (cloud['active'] === 'virtual' ? 'the built-in virtual cloud' : 'Yoto') : 'nothing yet'}</dd>
          </dl>
          ${this.isAdmin && this.signIn?.available
            ? this.renderSignIn(this.signIn)
            : signInUrl
              ? html`<p><a class="button" href=${signInUrl} target="_blank" rel="noopener">Sign in to Yoto</a> <span class="muted">The hub waits for you to sign in to your Yoto account.</span></p>`
              : nothing}`
        : html`<p class="muted" aria-busy="true">Loading…</p>`}
    </section>`;
  }

  /** Admins: the sign-in link, a fresh one on demand, and the pasted address for a hub on another machine. */
  private renderSignIn(state: SignInState) {
    return html`<div data-testid="yoto-sign-in">
      ${state.problem ? html`<p class="bad" role="alert" data-testid="sign-in-problem">${state.problem}</p>` : nothing}
      <p class="muted">Asks Yoto for: <code data-testid="sign-in-scopes">${state.scopes.join(' ')}</code></p>
      <div class="row">
        ${state.url
          ? html`<a class="button primary" href=${state.url} target="_blank" rel="noopener" data-testid="sign-in-link">Sign in to Yoto</a>`
          : html`<button type="button" class="primary" @click=${() => void this.requestLink(false)}>Get a sign-in link</button>`}
        <button type="button" @click=${() => void this.requestLink(true)}>New sign-in link</button>
      </div>
      <form class="fields" @submit=${(event: SubmitEvent) => void this.completeSignIn(event)} aria-label="Finish the sign-in with the browser's address">
        <label>Hub on another machine? After signing in, paste the address the browser ended on (even if it shows an error page)
          <input name="address" type="text" required autocomplete="off" placeholder=${`${state.redirectUri ?? 'http://127.0.0.1:1884/callback'}?code=…&state=…`}>
        </label>
        <div><button type="submit">Finish sign-in</button></div>
      </form>
      ${this.signInNotice
        ? html`<p role=${this.signInNotice.ok ? 'status' : 'alert'} class=${this.signInNotice.ok ? 'ok' : 'bad'} data-testid="sign-in-notice">${this.signInNotice.message}</p>`
        : nothing}
    </div>`;
  }

  private renderConfig() {
    const config = this.config;
    if (!config) return nothing;
    const shown = config.saved ?? config.config;
    const admin = this.isAdmin;
    return html`<section class="card" aria-labelledby="config-title">
      <h3 id="config-title">Hub connections</h3>
      <p class="muted">Every setting is read when the hub starts: a change takes effect after a restart.${admin ? '' : ' Only an admin can change them.'}</p>
      <form class="fields" @submit=${(event: SubmitEvent) => void this.saveConfig(event)}>
        <label>MQTT broker URL (empty: the built-in broker)
          <input name="brokerUrl" type="url" .value=${shown.broker.url ?? ''} placeholder="mqtt://homeassistant.local:1883" ?disabled=${!admin}>
        </label>
        <label>Public URL of the hub (what players use to fetch audio)
          <input name="publicUrl" type="url" .value=${shown.http.publicUrl ?? ''} placeholder="http://192.168.1.10:8080" ?disabled=${!admin}>
        </label>
        ${config.saved && JSON.stringify(config.saved) !== JSON.stringify(config.config) ? html`<p class="warn">Saved settings differ from the running ones: restart the hub to apply them.</p>` : nothing}
        ${admin ? html`<div><button type="submit" class="primary">Save settings</button></div>` : nothing}
      </form>
      ${this.configNotice
        ? html`<div role=${this.configNotice.ok ? 'status' : 'alert'} class=${this.configNotice.ok ? 'ok' : 'bad'}>${this.configNotice.message}
            ${this.configNotice.restart.length > 0 ? html`<ul>${this.configNotice.restart.map((path) => html`<li><code>${path}</code></li>`)}</ul>` : nothing}</div>`
        : nothing}
    </section>`;
  }

  private renderUsers() {
    const me = this.session.auth.user?.id;
    return html`<section class="card" aria-labelledby="users-title">
      <h3 id="users-title">Users</h3>
      <form class="row" @submit=${(event: SubmitEvent) => void this.invite(event)} aria-label="Invite a user">
        <input name="email" type="email" required aria-label="Email to invite" placeholder="name@example.com">
        <select name="role" aria-label="Role of the invited user">
          <option value="member">Member</option>
          <option value="admin">Admin</option>
        </select>
        <button type="submit" class="primary">Invite</button>
      </form>
      ${this.invitation
        ? html`<div role="status" data-testid="invitation">
            <p>Invitation for <strong>${this.invitation.email}</strong> (${this.invitation.role}), valid until ${new Date(this.invitation.expiresAt).toLocaleString()}. Send them this token to register with:</p>
            <p class="token" data-testid="invitation-token">${this.invitation.token}</p>
            <button type="button" @click=${() => void navigator.clipboard?.writeText(this.invitation?.token ?? '').catch(() => undefined)}>Copy token</button>
          </div>`
        : nothing}
      ${this.users === undefined
        ? html`<p class="muted" aria-busy="true">Loading…</p>`
        : html`<table>
            <thead><tr><th>Name</th><th>Email</th><th>Role</th><th>State</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>${this.users.map((user) => html`<tr data-user=${user.email}>
              <td>${user.name}${user.id === me ? html` <span class="muted">(you)</span>` : nothing}</td>
              <td>${user.email}</td>
              <td><select aria-label="Role of ${user.email}" ?disabled=${user.id === me} @change=${(event: Event) => void this.patch(user, { role: (event.target as HTMLSelectElement).value === 'admin' ? 'admin' : 'member' })}>
                <option value="member" ?selected=${user.role === 'member'}>Member</option>
                <option value="admin" ?selected=${user.role === 'admin'}>Admin</option>
              </select></td>
              <td>${user.disabled ? html`<span class="bad">Disabled</span>` : 'Active'}</td>
              <td class="actions">${user.id === me
                ? nothing
                : html`<button type="button" @click=${() => void this.patch(user, { disabled: !user.disabled })} aria-label="${user.disabled ? 'Enable' : 'Disable'} ${user.email}">${user.disabled ? 'Enable' : 'Disable'}</button>
                    <yoto-confirm-delete .name=${user.email} @confirm-delete=${() => void this.removeItem(user)}></yoto-confirm-delete>`}
              </td>
            </tr>`)}</tbody>
          </table>`}
    </section>`;
  }
}

customElements.define('yoto-settings-view', YotoSettingsView);
