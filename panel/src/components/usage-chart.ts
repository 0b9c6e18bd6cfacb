import { LitElement, css, html, nothing, svg } from 'lit';
import type { AnalyticsDay } from '../api/analytics';
import { formatListening } from './format';
import { sharedStyles } from './shared-styles';

const WIDTH = 420;
const HEIGHT = 160;
const TOP = 16;
const BOTTOM = 24;

/** "Mon 24" for a UTC day (the analytics API's days are UTC). */
export function dayLabel(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(day.getTime()) ? date : day.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', timeZone: 'UTC' });
}

/**
 * Listening time per day as an SVG bar chart (no chart library), with the same
 * figures as a table for screen readers and anyone who prefers text. The SVG
 * is one image with a summary; the table carries the numbers.
 */
export class YotoUsageChart extends LitElement {
  static override properties = {
    days: { attribute: false },
    label: { type: String },
  };

  declare days: AnalyticsDay[];
  /** What the chart shows, e.g. "Listening time per day on Kids Bedroom, last 7 days". */
  declare label: string;

  constructor() {
    super();
    this.days = [];
    this.label = 'Listening time per day';
  }

  static override styles = [
    sharedStyles,
    css`
      svg { width: 100%; height: auto; max-width: 36rem; display: block; }
      .bar { fill: var(--accent); }
      .axis { stroke: color-mix(in srgb, var(--fg) 25%, transparent); }
      text { fill: var(--muted); font-size: 11px; font-family: inherit; }
      text.value { fill: var(--fg); }
      table { border-collapse: collapse; font-size: 0.875rem; margin-top: 0.5rem; }
      th, td { text-align: left; padding: 0.15rem 0.75rem 0.15rem 0; }
      td { font-variant-numeric: tabular-nums; }
      summary { cursor: pointer; color: var(--muted); font-size: 0.875rem; margin-top: 0.25rem; }
    `,
  ];

  override render() {
    const days = this.days;
    if (days.length === 0) return nothing;
    const total = days.reduce((sum, day) => sum + day.listeningSeconds, 0);
    const max = Math.max(...days.map((day) => day.listeningSeconds), 60);
    const slot = WIDTH / days.length;
    const barWidth = Math.max(4, slot * 0.6);
    const plot = HEIGHT - TOP - BOTTOM;
    const summary = `${this.label}: ${formatListening(total)} in total, ${days.map((day) => `${dayLabel(day.date)} ${formatListening(day.listeningSeconds)}`).join(', ')}.`;
    return html`
      <figure style="margin:0">
        <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label=${summary} data-testid="usage-chart">
          <line class="axis" x1="0" x2=${WIDTH} y1=${HEIGHT - BOTTOM} y2=${HEIGHT - BOTTOM}></line>
          ${days.map((day, i) => {
            const height = (day.listeningSeconds / max) * plot;
            const x = i * slot + (slot - barWidth) / 2;
            const y = HEIGHT - BOTTOM - height;
            return svg`<g data-date=${day.date}>
              <rect class="bar" x=${x} y=${y} width=${barWidth} height=${Math.max(height, day.listeningSeconds > 0 ? 1 : 0)} rx="2"><title>${dayLabel(day.date)}: ${formatListening(day.listeningSeconds)}</title></rect>
              <text x=${i * slot + slot / 2} y=${HEIGHT - 8} text-anchor="middle">${dayLabel(day.date)}</text>
              ${day.listeningSeconds > 0 ? svg`<text class="value" x=${i * slot + slot / 2} y=${Math.max(y - 4, 11)} text-anchor="middle">${Math.round(day.listeningSeconds / 60)}m</text>` : nothing}
            </g>`;
          })}
        </svg>
        <figcaption class="muted">${this.label} · ${formatListening(total)} in total</figcaption>
      </figure>
      <details>
        <summary>Show as a table</summary>
        <table data-testid="usage-table">
          <caption class="visually-hidden">${this.label}</caption>
          <thead><tr><th scope="col">Day</th><th scope="col">Listening time</th><th scope="col">Sessions</th></tr></thead>
          <tbody>${days.map((day) => html`<tr><th scope="row"><time datetime=${day.date}>${dayLabel(day.date)}</time></th><td>${formatListening(day.listeningSeconds)}</td><td>${day.sessions}</td></tr>`)}</tbody>
        </table>
      </details>
    `;
  }
}

if (!customElements.get('yoto-usage-chart')) customElements.define('yoto-usage-chart', YotoUsageChart);
