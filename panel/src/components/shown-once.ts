import { html, type TemplateResult } from 'lit';

/**
 * A secret the hub shows only once (an invitation, an API token): what it is, the value, and a
 * Copy button. `testId` names the block; the value's test id is `${testId}-value` unless given.
 */
export function shownOnce(options: { testId: string; valueTestId?: string; intro: TemplateResult; value: string }): TemplateResult {
  const { testId, intro, value } = options;
  return html`<div role="status" data-testid=${testId}>
    <p>${intro}</p>
    <p class="token" data-testid=${options.valueTestId ?? `${testId}-value`}>${value}</p>
    <button type="button" @click=${() => void navigator.clipboard?.writeText(value).catch(() => undefined)}>Copy token</button>
  </div>`;
}
