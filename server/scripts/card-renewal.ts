import { EventEmitter } from 'node:events';
import type { CloudConnection } from '../cloud/cloud-connection';
import type { Logger } from '../log/logger';
import type { Store } from '../store';
import type { StreamService } from '../streams';
import type { Clock, ClockTimer } from '../time/clock';
import type { CardInput, YotoCard } from '../yoto/card';
import { YotoApiError } from '../yoto/rest/errors';

/** How often the hub looks for deployed cards whose stream URLs are due for renewal. */
export const RENEWAL_CHECK_MS = 60 * 60_000;

export interface CardRenewed {
  scriptId: string;
  cardId: string;
  /** How many stream URLs on the card were signed anew. */
  urls: number;
  /** When the new URLs expire (ISO time). */
  expiresAt: string;
}

export interface CardRenewalEvents {
  renewed: [renewed: CardRenewed];
  failed: [failed: { scriptId: string; cardId: string; message: string }];
}

export interface CardRenewalOptions {
  store: Pick<Store, 'scripts'>;
  streams: Pick<StreamService, 'urlExpiry' | 'renewUrl' | 'urlLifetimeSeconds'>;
  cloud: Pick<CloudConnection, 'api'>;
  clock: Clock;
  logger: Logger;
  /** Runs `work` while no deploy saves the same card (the scripts service's card lock), so neither undoes the other. */
  exclusive<T>(cardId: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Keeps the stream URLs on the cards the hub deployed working: every hour (on the hub's Clock) and
 * at start it reads each deployed script's card from the cloud and, once its stream URLs have less
 * than half their lifetime left, signs them anew (same file or smart stream, player and script) and
 * saves the card with only those URLs changed. A card whose script was deleted, or whose URLs were
 * revoked (player unregistered, owner deleted), is not renewed, so its URLs die with their lifetime.
 */
export class CardRenewal {
  readonly events = new EventEmitter<CardRenewalEvents>();
  private timer: ClockTimer | undefined;
  private running: Promise<void> | undefined;
  /** cardId -> when to read that card again (ms since the epoch), learned from its URLs' expiry. */
  private readonly nextLook = new Map<string, number>();

  constructor(private readonly options: CardRenewalOptions) {}

  start(): this {
    this.timer ??= this.options.clock.setInterval(() => void this.check(), RENEWAL_CHECK_MS);
    void this.check();
    return this;
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.idle();
  }

  /** Renews every deployed card that is due; a pass already under way is joined, not doubled. */
  check(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves when no renewal pass is under way. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async pass(): Promise<void> {
    const { store, clock, cloud } = this.options;
    // Not signed in to a cloud (yet): the pass when it is (the hub asks for one then) or the next hourly one does it.
    if (!cloud.api) return;
    for (const script of store.scripts.list((s) => s.cardId !== undefined)) {
      const cardId = script.cardId!;
      if ((this.nextLook.get(cardId) ?? 0) > clock.now()) continue;
      try {
        await this.options.exclusive(cardId, () => this.renewCard(script.id, cardId));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.options.logger.warn('could not renew the stream URLs of a deployed card; trying again at the next check', { scriptId: script.id, cardId, err: error });
        this.events.emit('failed', { scriptId: script.id, cardId, message });
      }
    }
  }

  private async renewCard(scriptId: string, cardId: string): Promise<void> {
    const { store, streams, cloud, clock, logger } = this.options;
    const api = cloud.api;
    if (!api) throw new Error('the hub is not connected to a Yoto cloud');
    // Deleted, or deployed to another card, while this pass waited for the lock.
    if (store.scripts.get(scriptId)?.cardId !== cardId) return;
    const lifetimeMs = streams.urlLifetimeSeconds * 1000;
    const renewBefore = lifetimeMs / 2;
    let card: YotoCard;
    try {
      card = await api.getCard(cardId);
    } catch (error) {
      if (!(error instanceof YotoApiError) || error.status !== 404) throw error;
      // Deleted in the Yoto app: the next deploy makes a new card.
      this.nextLook.set(cardId, clock.now() + lifetimeMs);
      return;
    }
    const tracks = card.content.chapters.flatMap((chapter) => chapter.tracks);
    const expiries = tracks.map((track) => streams.urlExpiry(track.trackUrl)?.expiresAt).filter((at): at is number => at !== undefined);
    if (expiries.length === 0) {
      // No URL of ours that expires (uploaded audio only, or all revoked): nothing to renew for a lifetime.
      this.nextLook.set(cardId, clock.now() + lifetimeMs);
      return;
    }
    const dueAt = Math.min(...expiries) - renewBefore;
    if (dueAt > clock.now()) {
      this.nextLook.set(cardId, dueAt);
      return;
    }
    let urls = 0;
    for (const track of tracks) {
      const renewed = streams.urlExpiry(track.trackUrl) ? streams.renewUrl(track.trackUrl) : undefined;
      if (renewed === undefined) continue;
      track.trackUrl = renewed;
      urls++;
    }
    if (urls === 0) {
      // Every URL of ours on it was revoked meanwhile: leave the card as it is.
      this.nextLook.set(cardId, clock.now() + lifetimeMs);
      return;
    }
    const { createdAt: _created, updatedAt: _updated, userId: _owner, ...input } = card;
    await api.saveCard(input satisfies CardInput);
    const expiresAt = clock.now() + lifetimeMs;
    this.nextLook.set(cardId, expiresAt - renewBefore);
    logger.info('stream URLs of a deployed card renewed', { scriptId, cardId, urls });
    this.events.emit('renewed', { scriptId, cardId, urls, expiresAt: new Date(expiresAt).toISOString() });
  }
}
