import { LitElement, css, html } from 'lit';
import { Router } from '@lit-labs/router';

/** The panel's shell: header, navigation, and the routed view. */
export class YotoApp extends LitElement {
  static override styles = css`
    :host { display: block; min-height: 100vh; }
    header { display: flex; align-items: center; gap: 1rem; padding: 0.75rem 1rem; background: var(--card); border-bottom: 1px solid color-mix(in srgb, var(--fg) 12%, transparent); flex-wrap: wrap; }
    h1 { font-size: 1.1rem; margin: 0; }
    h1 span { color: var(--accent); }
    nav { display: flex; gap: 0.75rem; }
    nav a { color: inherit; text-decoration: none; padding: 0.25rem 0.5rem; border-radius: 6px; }
    nav a:hover, nav a:focus-visible { background: color-mix(in srgb, var(--accent) 15%, transparent); outline: none; }
    main { padding: 1rem; max-width: 960px; margin: 0 auto; }
  `;

  private readonly router = new Router(this, [
    { path: '/', render: () => html`<yoto-system-view></yoto-system-view>`, enter: () => loadSystemView() },
    { path: '/system', render: () => html`<yoto-system-view></yoto-system-view>`, enter: () => loadSystemView() },
    { path: '/*', render: () => html`<p role="alert">This page does not exist. <a href="/">Go to the start page</a>.</p>` },
  ]);

  override render() {
    return html`
      <header>
        <h1><span>Yoto</span> Smart Stream</h1>
        <nav aria-label="Main"><a href="/system">System</a></nav>
      </header>
      <main>${this.router.outlet()}</main>
    `;
  }
}

async function loadSystemView(): Promise<boolean> {
  await import('../views/system-view');
  return true;
}

customElements.define('yoto-app', YotoApp);
