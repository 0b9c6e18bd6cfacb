import { LitElement, css, html, nothing } from 'lit';
import { auth } from '../state/auth-store';
import './confirm-delete';
import { internalState } from './internal-state';
import { removeListed } from './remove-listed';
import { sharedStyles } from './shared-styles';

/** GET /api/auth/tokens: names and dates, never the tokens. */
interface ApiToken {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string;
}

/**
 * Settings, "API tokens": the signed-in user's long-lived tokens for scripts,
 * other machines and a remote Node-RED (yoto-hub node, Remote hub mode).
 * A new token is shown once, to copy; each can be revoked.
 */
export class YotoApiTokens extends LitElement {
  static override properties = internalState('tokens', 'created', 'error');

  declare tokens: ApiToken[] | undefined;
  declare created: (ApiToken & { token: string }) | undefined;
  declare error: string | undefined;

  static override styles = [
    sharedStyles,
    css`
      :host { display: block; }
      table { width: 100%; border-collapse: collapse; }
      th, td { text-align: left; padding: 0.4rem 0.3rem; border-bottom: 1px solid color-mix(in srgb, var(--fg) 10%, transparent); }
      .token { font-family: ui-monospace, monospace; font-size: 0.8rem; overflow-wrap: anywhere; background: var(--bg); padding: 0.4rem; border-radius: 6px; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      this.tokens = (await auth.json<{ tokens: ApiToken[] }>('/api/auth/tokens')).tokens;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const formElement = event.target as HTMLFormElement;
    const name = String(new FormData(formElement).get('name') ?? '').trim();
    try {
      const created = await auth.json<ApiToken & { token: string }>('/api/auth/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      this.created = created;
      this.tokens = [...(this.tokens ?? []), { id: created.id, name: created.name, createdAt: created.createdAt }];
      this.error = undefined;
      formElement.reset();
    } catch (error) {
      this.error = `Not created: ${(error as Error).message}`;
    }
  }

  private async revoke(token: ApiToken): Promise<void> {
    const outcome = await removeListed(this.tokens, token, (id) => auth.json(`/api/auth/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }));
    if ('error' in outcome) this.error = outcome.error;
    else {
      this.tokens = outcome.list;
      if (this.created?.id === token.id) this.created = undefined;
    }
  }

  override render() {
    return html`<section class="card" aria-labelledby="tokens-title">
      <h3 id="tokens-title">API tokens</h3>
      <p class="muted">For scripts, other machines and a Node-RED whose Yoto hub node is in "Remote hub" mode: send <code>Authorization: Bearer &lt;token&gt;</code>. A token acts with your rights; revoke it to end them at once.</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <form class="row" @submit=${(event: SubmitEvent) => void this.create(event)} aria-label="Create an API token">
        <input name="name" required maxlength="255" aria-label="Name of the new API token" placeholder="e.g. Node-RED in the garage">
        <button type="submit" class="primary">Create token</button>
      </form>
      ${this.created
        ? html`<div role="status" data-testid="api-token">
            <p>Token <strong>${this.created.name}</strong>: copy it now, it is not shown again.</p>
            <p class="token" data-testid="api-token-value">${this.created.token}</p>
            <button type="button" @click=${() => void navigator.clipboard?.writeText(this.created?.token ?? '').catch(() => undefined)}>Copy token</button>
          </div>`
        : nothing}
      ${this.tokens === undefined
        ? html`<p class="muted" aria-busy="true">Loading…</p>`
        : this.tokens.length === 0
          ? html`<p class="muted">No API tokens yet.</p>`
          : html`<table>
              <thead><tr><th>Name</th><th>Created</th><th>Last used</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>${this.tokens.map((token) => html`<tr data-token=${token.name}>
                <td>${token.name}</td>
                <td>${new Date(token.createdAt).toLocaleString()}</td>
                <td>${token.lastUsedAt ? new Date(token.lastUsedAt).toLocaleString() : html`<span class="muted">never</span>`}</td>
                <td><yoto-confirm-delete .name=${`token ${token.name}`} @confirm-delete=${() => void this.revoke(token)}></yoto-confirm-delete></td>
              </tr>`)}</tbody>
            </table>`}
    </section>`;
  }
}

customElements.define('yoto-api-tokens', YotoApiTokens);
