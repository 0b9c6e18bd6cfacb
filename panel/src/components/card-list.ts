import { html, type TemplateResult } from 'lit';

/**
 * A view's collection (scripts, stories): "Loading…" until it came, `empty` when it holds nothing,
 * else a list of cards labelled `label`, one `item` per entry.
 */
export function cardList<T>(items: readonly T[] | undefined, options: { label: string; className: string; empty: string }, item: (entry: T) => TemplateResult): TemplateResult {
  if (items === undefined) return html`<p class="muted" aria-busy="true">Loading…</p>`;
  if (items.length === 0) return html`<p class="muted">${options.empty}</p>`;
  return html`<ul class=${options.className} aria-label=${options.label}>${items.map((entry) => html`<li class="card">${item(entry)}</li>`)}</ul>`;
}
