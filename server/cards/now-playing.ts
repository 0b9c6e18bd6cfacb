import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import { silentLogger, type Logger } from '../log/logger';
import type { CardDirectory } from './card-directory';

export interface NowPlayingCardsOptions {
  registry: DeviceRegistry;
  cards: CardDirectory;
  logger?: Logger;
}

/**
 * Tells the device model what the card each player plays is (title, author, cover), so that
 * yoto/<id>/playback, the WebSocket and the nodes carry it as Home Assistant's media player
 * shows a card: once per card that starts, looked up in the card directory. In a cluster only
 * the leader runs it (the others get the described state from it).
 */
export class NowPlayingCards {
  private readonly logger: Logger;
  private running = false;

  private readonly onState = (state: DeviceState, previous: DeviceState): void => {
    if (state.playback.cardId !== previous.playback.cardId) this.observe(state);
  };

  constructor(private readonly options: NowPlayingCardsOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Starts following; cards already playing are described at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { registry } = this.options;
    registry.bus.on(this, 'state', this.onState);
    registry.bus.on(this, 'device-added', (state) => this.observe(state));
    for (const state of registry.list()) this.observe(state);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.options.registry.bus.off(this);
  }

  private observe(state: DeviceState): void {
    const { cardId, cardTitle } = state.playback;
    if (cardId === undefined || cardTitle !== undefined) return;
    const { registry, cards } = this.options;
    const known = cards.get(cardId);
    if (known) {
      registry.describeCard(state.deviceId, cardId, known);
      return;
    }
    cards.describe(cardId).then(
      (card) => {
        // Stopped meanwhile (a follower now, or the hub stops): the model is no longer this part's to change.
        if (card && this.running) registry.describeCard(state.deviceId, cardId, card);
      },
      (error: unknown) => this.logger.warn('could not describe a card', { deviceId: state.deviceId, cardId, err: error }),
    );
  }
}
