import type { PropertyDeclaration } from 'lit';

/**
 * Lit's declaration of internal reactive state (`{ state: true }`: re-renders on change, no
 * attribute) for each name, for a component's `static properties`:
 * `static override properties = { deviceId: { type: String }, ...internalState('note', 'error') }`.
 */
export function internalState(...names: string[]): Record<string, PropertyDeclaration> {
  return Object.fromEntries(names.map((name) => [name, { state: true }]));
}
