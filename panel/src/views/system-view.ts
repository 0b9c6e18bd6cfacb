import { LitElement, css, html, nothing } from 'lit';
import { fetchHealth, type ComponentHealth, type HealthReport } from '../api/health';
import { internalState } from '../components/internal-state';

const REFRESH_MS = 5000;

const COMPONENT_LABELS: Record<string, string> = {
  store: 'Store',
  broker: 'Home broker',
  cloud: 'Yoto cloud',
  http: 'Hub server',
};

/** Live state of every hub component, from /api/system/health. */
export class YotoSystemView extends LitElement {
  static override properties = internalState('report', 'error');

  declare report: HealthReport | undefined;
  declare error: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private controller: AbortController | undefined;

  static override styles = css`
    :host { display: block; }
    h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
    .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 0.75rem; }
    .card { background: var(--card); border-radius: 10px; padding: 0.75rem 1rem; box-shadow: 0 1px 2px rgb(0 0 0 / 0.08); }
    .card h3 { margin: 0 0 0.25rem; font-size: 1rem; }
    .status { font-weight: 600; }
    .status.ok { color: var(--ok); }
    .status.starting, .status.degraded, .status.not_configured { color: var(--warn); }
    .status.error, .status.stopped { color: var(--bad); }
    .detail { color: var(--muted); font-size: 0.875rem; overflow-wrap: anywhere; }
    .summary { margin-bottom: 1rem; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.timer);
    this.controller?.abort();
  }

  private async refresh(): Promise<void> {
    this.controller?.abort();
    this.controller = new AbortController();
    try {
      this.report = await fetchHealth(this.controller.signal);
      this.error = undefined;
    } catch (error) {
      if ((error as Error).name === 'AbortError') return;
      this.error = (error as Error).message;
    }
  }

  override render() {
    const report = this.report;
    return html`
      <h2>Hub status</h2>
      ${this.error ? html`<p role="alert" class="status error">${this.error}</p>` : nothing}
      ${report
        ? html`
            <p class="summary">Overall: <span class="status ${report.status}" data-testid="overall-status">${report.status}</span>
              ${report.version !== undefined ? html`· version ${report.version} · up ${formatUptime(report.uptimeSeconds ?? 0)}` : nothing}</p>
            ${report.components
              ? html`<div class="grid">${Object.entries(report.components).map(([name, component]) => this.renderComponent(name, component))}</div>`
              : html`<p class="detail" data-testid="sign-in-hint">Sign in to see each component.</p>`}
          `
        : this.error ? nothing : html`<p aria-busy="true">Loading…</p>`}
    `;
  }

  private renderComponent(name: string, component: ComponentHealth) {
    const state = typeof component.state === 'string' ? component.state : component.status;
    const detail = typeof component.url === 'string' ? component.url : typeof component.message === 'string' ? component.message : typeof component.dataDir === 'string' ? component.dataDir : '';
    return html`
      <section class="card" data-component=${name} aria-label=${COMPONENT_LABELS[name] ?? name}>
        <h3>${COMPONENT_LABELS[name] ?? name}</h3>
        <div class="status ${component.status}" data-testid="component-status">${state.replace('_', ' ')}</div>
        ${detail ? html`<div class="detail">${detail}</div>` : nothing}
      </section>
    `;
  }
}

function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

customElements.define('yoto-system-view', YotoSystemView);
