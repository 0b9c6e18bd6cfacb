import { LitElement, css, html } from 'lit';
import { sharedStyles } from './shared-styles';

/**
 * A two-step Delete for one named thing (a file, a script, a story, a user).
 * The first press asks, with "Confirm delete" and "Keep" in the Delete
 * button's place and the focus on "Confirm delete", so a keyboard user stays
 * where they were. Confirming fires `confirm-delete` (bubbles, composed) for
 * the view to act on; Keep or Escape puts the Delete button back, focused.
 */
export class YotoConfirmDelete extends LitElement {
  static override properties = {
    name: {},
    asking: { state: true },
  };

  static override styles = [
    sharedStyles,
    css`
      /* The buttons sit in the surrounding row as if written there. */
      :host { display: contents; }
    `,
  ];

  /** What is deleted, as the buttons' labels say it ("Delete <name>"). */
  declare name: string;
  /** Showing "Confirm delete" and "Keep". */
  declare asking: boolean;

  constructor() {
    super();
    this.name = '';
    this.asking = false;
  }

  override render() {
    if (!this.asking) {
      return html`<button type="button" class="danger" data-step="delete" aria-label="Delete ${this.name}" @click=${() => void this.ask(true)}>Delete</button>`;
    }
    return html`<span role="group" aria-label="Delete ${this.name}?" @keydown=${(event: KeyboardEvent) => this.onKeydown(event)}>
      <button type="button" class="danger" data-step="confirm" aria-label="Confirm deleting ${this.name}" @click=${() => this.confirm()}>Confirm delete</button>
      <button type="button" data-step="keep" aria-label="Keep ${this.name}" @click=${() => void this.ask(false)}>Keep</button>
    </span>`;
  }

  private async ask(asking: boolean): Promise<void> {
    this.asking = asking;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLButtonElement>(`button[data-step="${asking ? 'confirm' : 'delete'}"]`)?.focus();
  }

  private onKeydown(event: KeyboardEvent): void {
    if (event.key !== 'Escape') return;
    event.stopPropagation();
    void this.ask(false);
  }

  private confirm(): void {
    this.dispatchEvent(new CustomEvent('confirm-delete', { bubbles: true, composed: true }));
  }
}

if (!customElements.get('yoto-confirm-delete')) customElements.define('yoto-confirm-delete', YotoConfirmDelete);
