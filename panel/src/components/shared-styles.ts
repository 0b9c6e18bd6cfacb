import { css } from 'lit';

/** Styles every view shares: cards, buttons, form fields, focus rings (colours from index.html's custom properties). */
export const sharedStyles = css`
  :host { display: block; }
  h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
  h3 { font-size: 1rem; margin: 0 0 0.25rem; }
  .card { background: var(--card); border-radius: 10px; padding: 0.75rem 1rem; box-shadow: 0 1px 2px rgb(0 0 0 / 0.08); }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 0.75rem; }
  .muted { color: var(--muted); font-size: 0.875rem; }
  .row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
  button, .button { font: inherit; font-size: 0.9rem; border: 1px solid color-mix(in srgb, var(--fg) 20%, transparent); background: var(--card); color: var(--fg); border-radius: 8px; padding: 0.4rem 0.75rem; cursor: pointer; min-height: 2.25rem; }
  button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
  button.danger { color: var(--bad); }
  a.button { display: inline-block; text-decoration: none; color: var(--fg); text-align: center; box-sizing: border-box; line-height: 1.4; }
  button:disabled { opacity: 0.55; cursor: default; }
  input, select { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid color-mix(in srgb, var(--fg) 25%, transparent); border-radius: 8px; padding: 0.4rem 0.6rem; min-height: 2.25rem; box-sizing: border-box; }
  input[type='range'] { padding: 0; accent-color: var(--accent); }
  :focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
  a { color: var(--accent); }
  .ok { color: var(--ok); }
  .warn { color: var(--warn); }
  .bad { color: var(--bad); }
  .error { color: var(--bad); font-weight: 600; }
  progress { width: 100%; height: 0.5rem; accent-color: var(--accent); }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
