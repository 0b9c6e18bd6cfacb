import { LitElement, css, html, nothing } from 'lit';
import { listCardGroups, listCards, type CardGroup, type FamilyCard } from '../api/player';
import { sharedStyles } from '../components/shared-styles';
import { DeviceStreamController } from '../controllers/device-stream-controller';
import { deviceCommandEvent } from '../state/commands';
import { internalState } from '../components/internal-state';

/**
 * The family library: covers, search, groups, and "Play on…" a player
 * (the command goes through the shell like every other player control).
 */
export class YotoCardsView extends LitElement {
  static override properties = internalState('cards', 'groups', 'q', 'group', 'error', 'note');

  declare cards: FamilyCard[] | undefined;
  declare groups: CardGroup[];
  declare q: string;
  declare group: string;
  declare error: string | undefined;
  declare note: string | undefined;
  private readonly stream = new DeviceStreamController(this);
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.groups = [];
    this.q = '';
    this.group = '';
  }

  static override styles = [
    sharedStyles,
    css`
      .filters { display: flex; gap: 0.75rem; flex-wrap: wrap; margin-bottom: 1rem; }
      ul.grid { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 1rem; }
      li.card { border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 10px; padding: 0.5rem; display: flex; flex-direction: column; gap: 0.35rem; }
      li.card img { width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 8px; background: color-mix(in srgb, var(--fg) 8%, transparent); }
      .kind { font-size: 0.75rem; text-transform: uppercase; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.searchTimer);
  }

  private async load(): Promise<void> {
    try {
      const [cards, groups] = await Promise.all([listCards({ ...(this.q ? { q: this.q } : {}), ...(this.group ? { group: this.group } : {}) }), this.groups.length ? Promise.resolve(this.groups) : listCardGroups()]);
      this.cards = cards;
      this.groups = groups;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  private search(value: string): void {
    this.q = value;
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => void this.load(), 200);
  }

  private playOn(card: FamilyCard, deviceId: string, select: HTMLSelectElement): void {
    select.value = '';
    if (!deviceId) return;
    const player = this.stream.store.get(deviceId)?.name ?? deviceId;
    this.dispatchEvent(deviceCommandEvent({
      deviceId,
      command: { command: 'play', card_id: card.cardId },
      done: (error) => {
        this.note = error ? `${card.title} could not start on ${player}` : `Playing ${card.title} on ${player}`;
      },
    }));
  }

  override render() {
    const players = this.stream.store.list();
    return html`
      <h2>Cards</h2>
      <div class="filters">
        <label>Search <input type="search" .value=${this.q} aria-label="Search cards" @input=${(e: Event) => this.search((e.target as HTMLInputElement).value)}></label>
        <label>Group
          <select aria-label="Card group" @change=${(e: Event) => { this.group = (e.target as HTMLSelectElement).value; void this.load(); }}>
            <option value="">All cards</option>
            ${this.groups.map((group) => html`<option value=${group.id} ?selected=${this.group === group.id}>${group.name}</option>`)}
          </select>
        </label>
      </div>
      ${this.note ? html`<p role="status" class="muted" data-testid="cards-note">${this.note}</p>` : nothing}
      ${this.error ? html`<p role="alert">The family library is not available: ${this.error}</p>` : nothing}
      ${!this.cards ? html`<p class="muted" aria-busy="true">Reading the family library…</p>`
        : this.cards.length === 0 ? html`<p class="muted">No cards match.</p>`
        : html`<ul class="grid" data-testid="cards">${this.cards.map((card) => html`
          <li class="card">
            ${card.cover ? html`<img src=${card.cover} alt="Cover of ${card.title}" loading="lazy">` : nothing}
            <strong>${card.title}</strong>
            <span class="muted kind">${card.kind === 'myo' ? 'Make Your Own' : card.kind}${card.author ? html` · ${card.author}` : nothing}</span>
            <select aria-label="Play ${card.title} on…" @change=${(e: Event) => this.playOn(card, (e.target as HTMLSelectElement).value, e.target as HTMLSelectElement)}>
              <option value="">Play on…</option>
              ${players.map((player) => html`<option value=${player.deviceId}>${player.name}</option>`)}
            </select>
          </li>`)}</ul>`}
    `;
  }
}

customElements.define('yoto-cards-view', YotoCardsView);
