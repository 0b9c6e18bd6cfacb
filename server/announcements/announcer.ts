import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import type { AudioLibrary } from '../library';
import { silentLogger, type Logger } from '../log/logger';
import { realClock, type Clock } from '../time/clock';
import { cardFormatOf } from '../scripts/build-card';
import type { StreamService } from '../streams';
import type { BrokerAnnouncementMessage } from '../types/schemas';
import type { CardInput, YotoCard } from '../yoto/card';
import { DeviceCommandError, type CommandResult, type DeviceCommand, type DeviceCommander } from '../yoto/device-command';

/** Saves the announcement's card on the cloud in use (`cloud.api`); undefined while no cloud is connected. */
export type CardSaver = () => { saveCard(card: CardInput): Promise<YotoCard> } | undefined;

export interface AnnouncerOptions {
  registry: Pick<DeviceRegistry, 'get' | 'bus' | 'recordEvent'>;
  commander: DeviceCommander;
  cards: CardSaver;
  library: Pick<AudioLibrary, 'get'>;
  streams: Pick<StreamService, 'urlFor'>;
  logger?: Logger;
  /** How long to wait for an announcement of unknown length (a URL) to end before putting things back. Default 10 minutes. */
  maxAnnouncementMs?: number;
  /** The hub's one clock (position estimates, the wait for an announcement's end); real by default. */
  clock?: Clock;
}

/** What a player was doing before an announcement: put back when it ends. */
export interface PlayerSnapshot {
  cardId?: string;
  chapterKey?: string;
  trackKey?: string;
  /** Seconds into the track, estimated for the moment of the snapshot. */
  position?: number;
  state: 'playing' | 'paused' | 'idle';
  volumePercent?: number;
}

export interface AnnouncementOutcome {
  deviceId: string;
  cardId: string;
  restored: PlayerSnapshot;
}

/** Extra time beyond the announcement's own length before the hub stops waiting for its end. */
const END_MARGIN_MS = 30_000;

/**
 * Plays an announcement (a library file or a URL) on a player as a one-track
 * streaming card, then puts back what the player was doing: the card, chapter,
 * track and position it was playing (paused if it was paused), and its volume.
 * Announcements to the same player wait for each other.
 */
export class Announcer {
  private readonly logger: Logger;
  private readonly clock: Clock;
  /** Player -> the card announcements play from (updated, not created, each time). */
  private readonly cardIds = new Map<string, string>();
  /** Player -> the announcement under way (the next one waits for it). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Ends each wait for an announcement to finish (on stop). */
  private readonly waits = new Set<() => void>();

  constructor(private readonly options: AnnouncerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? realClock;
  }

  /** Stops waiting for announcements under way (they end without putting the player back). */
  stop(): void {
    for (const end of [...this.waits]) end();
    this.options.registry.bus.off(this);
  }

  /** Resolves once the announcement has played and the player is back where it was. */
  announce(deviceId: string, announcement: BrokerAnnouncementMessage): Promise<AnnouncementOutcome> {
    const previous = this.queues.get(deviceId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.play(deviceId, announcement));
    this.queues.set(deviceId, run);
    const forget = (): void => {
      if (this.queues.get(deviceId) === run) this.queues.delete(deviceId);
    };
    run.then(forget, forget);
    return run;
  }

  private async play(deviceId: string, announcement: BrokerAnnouncementMessage): Promise<AnnouncementOutcome> {
    const { registry } = this.options;
    const what = announcement.text ?? announcement.audio_file_id ?? announcement.url;
    try {
      const state = registry.get(deviceId);
      if (!state) throw new DeviceCommandError('unknown_device', `the hub does not see player "${deviceId}"`, deviceId, 'play');
      if (!state.online) throw new DeviceCommandError('offline', `${state.name} is offline; the announcement was not played`, deviceId, 'play');
      const snapshot = this.snapshot(state);
      const card = await this.saveCard(deviceId, announcement);
      registry.recordEvent(deviceId, 'announcement_started', { cardId: card.cardId, ...(what ? { announcement: what } : {}) });
      const ended = this.whenLeft(deviceId, card.cardId, expectedMs(card));
      try {
        if (announcement.volume !== undefined) await this.run(deviceId, { type: 'volume', percent: announcement.volume });
        await this.run(deviceId, { type: 'play', cardId: card.cardId });
      } catch (error) {
        ended.cancel();
        throw error;
      }
      await ended.promise;
      await this.restore(deviceId, snapshot, announcement.volume !== undefined);
      registry.recordEvent(deviceId, 'announcement_finished', { cardId: card.cardId, restored: { ...snapshot }, ...(what ? { announcement: what } : {}) });
      return { deviceId, cardId: card.cardId, restored: snapshot };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (registry.get(deviceId)) registry.recordEvent(deviceId, 'announcement_failed', { reason, ...(what ? { announcement: what } : {}) });
      throw error;
    }
  }

  private snapshot(state: DeviceState): PlayerSnapshot {
    const { playback } = state;
    const playing = playback.state === 'playing' || playback.state === 'loading';
    const snapshot: PlayerSnapshot = {
      state: playback.cardId === undefined || playback.state === 'idle' || playback.state === 'stopped' ? 'idle' : playing ? 'playing' : 'paused',
    };
    if (state.volume) snapshot.volumePercent = state.volume.percent;
    if (snapshot.state === 'idle') return snapshot;
    snapshot.cardId = playback.cardId!;
    if (playback.chapterKey !== undefined) snapshot.chapterKey = playback.chapterKey;
    if (playback.trackKey !== undefined) snapshot.trackKey = playback.trackKey;
    if (playback.position !== undefined) {
      // Players report their position every few seconds: add the time since the last report.
      const sinceReport = playing ? Math.max(0, (this.clock.now() - Date.parse(state.updatedAt)) / 1000) : 0;
      const position = playback.position + sinceReport;
      snapshot.position = Math.floor(playback.duration !== undefined ? Math.min(position, playback.duration) : position);
    }
    return snapshot;
  }

  private async saveCard(deviceId: string, announcement: BrokerAnnouncementMessage): Promise<YotoCard> {
    const api = this.options.cards();
    if (!api) throw new DeviceCommandError('offline', 'the hub is not connected to a Yoto cloud right now', deviceId, 'play');
    const title = (announcement.text ?? 'Announcement').slice(0, 100);
    let track: CardInput['content']['chapters'][number]['tracks'][number];
    if (announcement.audio_file_id !== undefined) {
      const file = this.options.library.get(announcement.audio_file_id);
      if (!file) throw new DeviceCommandError('invalid_command', `audio file "${announcement.audio_file_id}" is not in the library`, deviceId, 'play');
      track = {
        key: '01',
        title,
        type: 'stream',
        format: cardFormatOf(file, '/audio_file_id'),
        trackUrl: this.options.streams.urlFor({ kind: 'audio', fileId: file.id }, { deviceId }),
        duration: Math.max(1, Math.round(file.durationSeconds)),
        fileSize: file.fileSize,
      };
    } else {
      track = { key: '01', title, type: 'stream', format: 'mp3', trackUrl: announcement.url ?? '' };
    }
    const cardId = this.cardIds.get(deviceId);
    const card: CardInput = {
      ...(cardId !== undefined ? { cardId } : {}),
      title: 'Announcement',
      metadata: { description: 'Announcements played by Yoto Smart Stream', media: { ...(track.duration !== undefined ? { duration: track.duration } : {}), hasStreams: true } },
      content: {
        playbackType: 'linear',
        config: { autoadvance: 'none', onlineOnly: true },
        editSettings: { transcodeAudioUploads: false, autoOverlayLabels: 'chapters' },
        chapters: [{ key: '01', title, ...(track.duration !== undefined ? { duration: track.duration } : {}), tracks: [track] }],
      },
    };
    const saved = await api.saveCard(card);
    this.cardIds.set(deviceId, saved.cardId);
    return saved;
  }

  /**
   * Resolves when the player has played the card and left it (it ended,
   * stopped, another card started, or the player went offline), or when the
   * announcement should long be over.
   */
  private whenLeft(deviceId: string, cardId: string, expectedMs: number | undefined): { promise: Promise<void>; cancel(): void } {
    const { bus } = this.options.registry;
    let started = false;
    let finish: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const timer = this.clock.setTimeout(() => {
      this.logger.warn('announcement did not end in time; putting the player back anyway', { deviceId, cardId });
      done();
    }, (expectedMs ?? this.options.maxAnnouncementMs ?? 10 * 60_000) + END_MARGIN_MS);
    const unsubscribe = bus.on(this, 'state', (state) => {
      if (state.deviceId !== deviceId) return;
      const onCard = state.playback.cardId === cardId;
      if (onCard && (state.playback.state === 'playing' || state.playback.state === 'loading')) started = true;
      const left = !state.online || (started && (!onCard || state.playback.state === 'stopped' || state.playback.state === 'idle'));
      if (left) done();
    });
    const waits = this.waits;
    function done(): void {
      timer.cancel();
      unsubscribe();
      waits.delete(done);
      finish();
    }
    waits.add(done);
    return { promise, cancel: done };
  }

  /** Puts the player back: volume, then the card where it was (paused again if it was paused). */
  private async restore(deviceId: string, snapshot: PlayerSnapshot, volumeChanged: boolean): Promise<void> {
    const state = this.options.registry.get(deviceId);
    if (!state?.online) return;
    if (volumeChanged && snapshot.volumePercent !== undefined) await this.run(deviceId, { type: 'volume', percent: snapshot.volumePercent });
    if (snapshot.state === 'idle' || snapshot.cardId === undefined) return;
    await this.run(deviceId, {
      type: 'play',
      cardId: snapshot.cardId,
      ...(snapshot.chapterKey !== undefined ? { chapterKey: snapshot.chapterKey } : {}),
      ...(snapshot.trackKey !== undefined ? { trackKey: snapshot.trackKey } : {}),
      ...(snapshot.position !== undefined ? { secondsIn: snapshot.position } : {}),
    });
    if (snapshot.state === 'paused') await this.run(deviceId, { type: 'pause' });
  }

  private run(deviceId: string, command: DeviceCommand): Promise<CommandResult> {
    return this.options.commander.execute(deviceId, command);
  }
}

function expectedMs(card: YotoCard): number | undefined {
  const seconds = card.content.chapters[0]?.tracks[0]?.duration;
  return seconds === undefined ? undefined : seconds * 1000;
}
