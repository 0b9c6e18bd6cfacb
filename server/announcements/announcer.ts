import { randomUUID } from 'node:crypto';
import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import type { AudioLibrary } from '../library';
import { silentLogger, type Logger } from '../log/logger';
import { realClock, type Clock, type ClockTimer } from '../time/clock';
import { cardFormatOf } from '../scripts/build-card';
import type { StreamService } from '../streams';
import type { Announcement, BrokerAnnouncementMessage } from '../types/schemas';
import type { CardInput, YotoCard } from '../yoto/card';
import type { DeviceCommand, DeviceCommander } from '../yoto/device-command';
import { announcementCard, cardDurationMs, type AnnouncementAudio } from './announcement-card';

/** Saves the announcement's card on the cloud in use (`cloud.api`); undefined while no cloud is connected. */
export type CardSaver = () => { saveCard(card: CardInput): Promise<YotoCard> } | undefined;

/** Renders a text to audio the players can stream: the hub's speech service (server/tts). */
export interface SpeechRenderer {
  render(request: { text: string; voice?: string; language?: string }): Promise<{ url: string; durationMs: number; contentType: string }>;
}

/** The chime an announcement may start with (`chime: true`). */
export interface ChimeSource {
  audio(): Promise<AnnouncementAudio>;
}

export interface AnnouncerOptions {
  registry: Pick<DeviceRegistry, 'get' | 'bus' | 'recordEvent' | 'now'>;
  commander: DeviceCommander;
  cards: CardSaver;
  library: Pick<AudioLibrary, 'get'>;
  streams: Pick<StreamService, 'urlFor'>;
  speech: SpeechRenderer;
  chime: ChimeSource;
  logger?: Logger;
  /** How long to wait for an announcement of unknown length (a URL) to end before putting things back. Default 10 minutes. */
  maxAnnouncementMs?: number;
  /** The hub's clock for the announcements' timers (expiry, the wait for an announcement's end); real by default. */
  clock?: Clock;
  /** How many announcements GET /api/announcements remembers (default 100). */
  historySize?: number;
}

/** What a player was doing before an announcement: put back when it (and any queued after it) ends. */
export interface PlayerSnapshot {
  cardId?: string;
  chapterKey?: string;
  trackKey?: string;
  /** Seconds into the track, estimated for the moment of the snapshot. */
  position?: number;
  state: 'playing' | 'paused' | 'idle';
  volumePercent?: number;
}

export type AnnouncementSource = Announcement['source'];
export type PlayerEntry = Announcement['players'][number];
export type PlayerStatus = PlayerEntry['status'];

/** Why an announcement did not play on a player (`reason` of announcement_failed). */
export type FailureReason = 'offline' | 'unknown_player' | 'quiet_hours' | 'expired' | 'not_found' | 'speech_failed' | 'no_cloud' | 'playback_failed' | 'hub_stopped';

/** An announcement the announcer took: its record (as GET /api/announcements shows it) and, per player, when it is done there. */
export interface AnnouncementHandle {
  id: string;
  /** A copy of the record as it is now. */
  view(): Announcement;
  /** Per target player: resolves with its final entry (finished, failed, expired or skipped); never rejects. */
  done: ReadonlyMap<string, Promise<PlayerEntry>>;
}

class AnnouncementFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'AnnouncementFailure';
  }
}

interface Job {
  record: Announcement;
  request: BrokerAnnouncementMessage;
  entry: PlayerEntry;
  high: boolean;
  expiry?: ClockTimer;
  settle(entry: PlayerEntry): void;
}

/** How a job's playback ended. */
type Ending = 'ended' | 'offline' | 'replaced' | 'timeout' | 'interrupted' | 'stopped';

interface PlayerQueue {
  waiting: Job[];
  current?: { job: Job; interrupt(ending: Ending): void };
  running: boolean;
  /** Alternates between the two cards the player's announcements play from, so the next never reuses the card under way. */
  slot: 0 | 1;
}

/** Extra time beyond the announcement's own length before the hub stops waiting for its end. */
const END_MARGIN_MS = 30_000;
const FORMATS: Record<string, AnnouncementAudio['format']> = { 'audio/mpeg': 'mp3', 'audio/mp3': 'mp3', 'audio/aac': 'aac', 'audio/ogg': 'ogg', 'audio/opus': 'opus' };

/**
 * Announcements (README "Announcements"): each target player remembers what it
 * was doing, plays the chime (if asked) and the announcement `repeat` times as
 * a streaming card at the announcement's volume, then gets back its card,
 * chapter, track, position, play state and volume. Announcements to the same
 * player queue and play one after the other; the player is put back once its
 * queue is empty. `priority: "high"` goes first, interrupts a normal one under
 * way (that one plays again, from its start, right after) and is the only kind
 * a player in night mode (quiet hours) accepts. Every outcome is an event on
 * the player (announcement_started, announcement_finished, announcement_failed
 * with a reason) and a status in the announcement's record.
 */
export class Announcer {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly historySize: number;
  /** Player -> its two announcement cards (updated, not created, each time). */
  private readonly cardIds = new Map<string, [string | undefined, string | undefined]>();
  private readonly queues = new Map<string, PlayerQueue>();
  /** Newest last. */
  private readonly history: Announcement[] = [];
  private stopped = false;

  constructor(private readonly options: AnnouncerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? realClock;
    this.historySize = options.historySize ?? 100;
  }

  /**
   * Takes an announcement for `targets` (the caller has checked the sender may use them) and
   * returns at once: each player's entry is queued, or skipped/failed with a reason already.
   */
  announce(request: BrokerAnnouncementMessage, targets: readonly string[], source: AnnouncementSource): AnnouncementHandle {
    const record: Announcement = {
      id: randomUUID(),
      request: structuredClone(request),
      source,
      createdAt: this.options.registry.now().toISOString(),
      players: targets.map((deviceId) => ({ deviceId, status: 'queued' })),
    };
    this.history.push(record);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    const done = new Map<string, Promise<PlayerEntry>>();
    for (const entry of record.players) {
      done.set(entry.deviceId, new Promise<PlayerEntry>((settle) => this.enqueue({ record, request, entry, high: request.priority === 'high', settle })));
    }
    return { id: record.id, view: () => structuredClone(record), done };
  }

  /** The remembered announcements, newest first. */
  list(): Announcement[] {
    return this.history.map((record) => structuredClone(record)).reverse();
  }

  get(id: string): Announcement | undefined {
    const record = this.history.find((candidate) => candidate.id === id);
    return record ? structuredClone(record) : undefined;
  }

  /** Ends every announcement under way or waiting (reason hub_stopped) and cancels every timer. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) {
      for (const job of queue.waiting.splice(0)) this.fail(job, new AnnouncementFailure('hub_stopped', 'the hub stopped'), 'failed');
      queue.current?.interrupt('stopped');
    }
    this.options.registry.bus.off(this);
  }

  private enqueue(job: Job): void {
    const { deviceId } = job.entry;
    const refusal = this.stopped ? new AnnouncementFailure('hub_stopped', 'the hub is stopping') : this.refusal(job);
    if (refusal) return this.fail(job, refusal, 'skipped');
    const queue = this.queueOf(deviceId);
    if (job.high) {
      // Before every normal one waiting (after the high ones already there); a normal one under way gives way.
      const at = queue.waiting.findIndex((waiting) => !waiting.high);
      queue.waiting.splice(at === -1 ? queue.waiting.length : at, 0, job);
      if (queue.current && !queue.current.job.high) queue.current.interrupt('interrupted');
    } else {
      queue.waiting.push(job);
    }
    const seconds = job.request.expires_in;
    if (seconds !== undefined) {
      job.expiry = this.clock.setTimeout(() => {
        const index = queue.waiting.indexOf(job);
        if (index === -1) return;
        queue.waiting.splice(index, 1);
        this.fail(job, new AnnouncementFailure('expired', `still waiting after ${seconds} s (expires_in)`), 'expired');
      }, seconds * 1000);
    }
    if (!queue.running) void this.drain(deviceId, queue);
  }

  /** Why the player would not take the announcement now: unknown, offline, or in night mode (normal priority). */
  private refusal(job: Job): AnnouncementFailure | undefined {
    const state = this.options.registry.get(job.entry.deviceId);
    if (!state) return new AnnouncementFailure('unknown_player', `the hub does not see player "${job.entry.deviceId}"`);
    if (!state.online) return new AnnouncementFailure('offline', `${state.name} is offline`);
    if (!job.high && state.dayMode === 'night') return new AnnouncementFailure('quiet_hours', `${state.name} is in night mode; only priority "high" announcements play now`);
    return undefined;
  }

  private queueOf(deviceId: string): PlayerQueue {
    let queue = this.queues.get(deviceId);
    if (!queue) {
      queue = { waiting: [], running: false, slot: 0 };
      this.queues.set(deviceId, queue);
    }
    return queue;
  }

  /** Plays the player's queue to its end, then puts the player back as it was before the first one. */
  private async drain(deviceId: string, queue: PlayerQueue): Promise<void> {
    queue.running = true;
    let snapshot: PlayerSnapshot | undefined;
    let touched = false;
    try {
      for (let job = queue.waiting.shift(); job; job = queue.waiting.shift()) {
        job.expiry?.cancel();
        const refusal = this.refusal(job);
        if (refusal) {
          this.fail(job, refusal, 'skipped');
          continue;
        }
        snapshot ??= this.snapshot(this.options.registry.get(deviceId)!);
        const current = job;
        let ending: Ending;
        try {
          ending = await this.play(deviceId, queue, current, () => {
            touched = true;
          });
        } catch (error) {
          this.fail(current, error instanceof AnnouncementFailure ? error : new AnnouncementFailure('playback_failed', messageOf(error)), 'failed');
          continue;
        }
        if (ending === 'interrupted') {
          // Plays again, from its start, after the high-priority announcement(s) that interrupted it.
          current.entry.interrupted = (current.entry.interrupted ?? 0) + 1;
          current.entry.status = 'queued';
          const at = queue.waiting.findIndex((waiting) => !waiting.high);
          queue.waiting.splice(at === -1 ? queue.waiting.length : at, 0, current);
          continue;
        }
        if (ending === 'stopped') {
          this.fail(current, new AnnouncementFailure('hub_stopped', 'the hub stopped'), 'failed');
          return;
        }
        if (ending === 'offline') {
          this.fail(current, new AnnouncementFailure('offline', 'the player went offline during the announcement'), 'failed');
          snapshot = undefined;
          continue;
        }
        // Someone put another card in (or played one) during the announcement: that choice stays.
        if (ending === 'replaced') snapshot = undefined;
        if (queue.waiting.length === 0 && snapshot && touched) {
          await this.restore(deviceId, snapshot).catch((error: unknown) => this.logger.warn('could not put the player back after an announcement', { deviceId, err: error }));
          snapshot = undefined;
          touched = false;
        }
        this.finish(current);
      }
    } finally {
      queue.running = false;
      if (queue.waiting.length === 0) this.queues.delete(deviceId);
      else if (!this.stopped) void this.drain(deviceId, queue);
    }
  }

  /** Plays one announcement on the player; resolves with how it ended. */
  private async play(deviceId: string, queue: PlayerQueue, job: Job, touch: () => void): Promise<Ending> {
    const { registry } = this.options;
    job.entry.status = 'playing';
    job.entry.startedAt = registry.now().toISOString();
    let interrupt: (ending: Ending) => void = () => undefined;
    const interrupted = new Promise<Ending>((resolve) => {
      interrupt = resolve;
    });
    // Set before the card is saved, so a high-priority announcement arriving meanwhile interrupts this one too.
    queue.current = { job, interrupt: (ending) => interrupt(ending) };
    try {
      const card = await this.saveCard(deviceId, queue, job.request);
      registry.recordEvent(deviceId, 'announcement_started', { ...this.eventData(job), cardId: card.cardId, ...(job.entry.interrupted ? { interrupted: job.entry.interrupted } : {}) });
      const left = this.whenLeft(deviceId, card.cardId, cardDurationMs(card));
      try {
        touch();
        if (job.request.volume !== undefined) await this.run(deviceId, { type: 'volume', percent: job.request.volume });
        await this.run(deviceId, { type: 'play', cardId: card.cardId });
        return await Promise.race([left.promise, interrupted]);
      } finally {
        left.cancel();
      }
    } finally {
      queue.current = undefined;
    }
  }

  private async saveCard(deviceId: string, queue: PlayerQueue, request: BrokerAnnouncementMessage): Promise<YotoCard> {
    const api = this.options.cards();
    if (!api) throw new AnnouncementFailure('no_cloud', 'the hub is not connected to a Yoto cloud right now');
    const chime = request.chime === true ? await this.options.chime.audio() : typeof request.chime === 'string' ? this.libraryAudio(deviceId, request.chime, 'Chime') : undefined;
    const audio = await this.audioOf(deviceId, request);
    const ids = this.cardIds.get(deviceId) ?? [undefined, undefined];
    const slot = queue.slot;
    queue.slot = slot === 0 ? 1 : 0;
    const saved = await api.saveCard(announcementCard(ids[slot], chime, audio, request.repeat ?? 1));
    ids[slot] = saved.cardId;
    this.cardIds.set(deviceId, ids);
    return saved;
  }

  private async audioOf(deviceId: string, request: BrokerAnnouncementMessage): Promise<AnnouncementAudio> {
    if (request.audio_file_id !== undefined) return this.libraryAudio(deviceId, request.audio_file_id, 'Announcement');
    if (request.url !== undefined) return { title: 'Announcement', url: request.url, format: 'mp3' };
    const text = request.text ?? '';
    try {
      const speech = await this.options.speech.render({ text, ...(request.voice ? { voice: request.voice } : {}), ...(request.language ? { language: request.language } : {}) });
      return { title: text.slice(0, 100), url: speech.url, format: FORMATS[speech.contentType.split(';')[0]!.trim()] ?? 'mp3', durationSeconds: speech.durationMs / 1000 };
    } catch (error) {
      throw new AnnouncementFailure('speech_failed', `the hub could not say it: ${messageOf(error)}`);
    }
  }

  private libraryAudio(deviceId: string, fileId: string, title: string): AnnouncementAudio {
    const file = this.options.library.get(fileId);
    if (!file) throw new AnnouncementFailure('not_found', `audio file "${fileId}" is not in the library`);
    let format: AnnouncementAudio['format'];
    try {
      format = cardFormatOf(file, '/audio_file_id');
    } catch (error) {
      throw new AnnouncementFailure('playback_failed', messageOf(error));
    }
    return {
      title: title === 'Chime' ? title : file.title.slice(0, 100),
      url: this.options.streams.urlFor({ kind: 'audio', fileId: file.id }, { deviceId }),
      format,
      durationSeconds: file.durationSeconds,
      fileSize: file.fileSize,
    };
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
      // Players report their position every few seconds: add the time since the last report (on the registry's clock, which stamped it).
      const sinceReport = playing ? Math.max(0, (this.options.registry.now().getTime() - Date.parse(state.updatedAt)) / 1000) : 0;
      const position = playback.position + sinceReport;
      snapshot.position = Math.floor(playback.duration !== undefined ? Math.min(position, playback.duration) : position);
    }
    return snapshot;
  }

  /**
   * Resolves when the player has played the card and left it (it ended or
   * stopped, another card started, or the player went offline), or when the
   * announcement should long be over.
   */
  private whenLeft(deviceId: string, cardId: string, expectedMs: number | undefined): { promise: Promise<Ending>; cancel(): void } {
    const { bus } = this.options.registry;
    const subscriber = {};
    let started = false;
    let finish: (ending: Ending) => void = () => undefined;
    const promise = new Promise<Ending>((resolve) => {
      finish = resolve;
    });
    const timer = this.clock.setTimeout(() => {
      this.logger.warn('announcement did not end in time; putting the player back anyway', { deviceId, cardId });
      done('timeout');
    }, (expectedMs ?? this.options.maxAnnouncementMs ?? 10 * 60_000) + END_MARGIN_MS);
    bus.on(subscriber, 'state', (state) => {
      if (state.deviceId !== deviceId) return;
      if (!state.online) return done('offline');
      const onCard = state.playback.cardId === cardId;
      if (onCard && (state.playback.state === 'playing' || state.playback.state === 'loading')) started = true;
      if (!started) return;
      if (!onCard) return done(state.playback.cardId !== undefined && !this.isAnnouncementCard(deviceId, state.playback.cardId) ? 'replaced' : 'ended');
      if (state.playback.state === 'stopped' || state.playback.state === 'idle') done('ended');
    });
    function done(ending: Ending): void {
      timer.cancel();
      bus.off(subscriber);
      finish(ending);
    }
    return { promise, cancel: () => done('stopped') };
  }

  private isAnnouncementCard(deviceId: string, cardId: string): boolean {
    return this.cardIds.get(deviceId)?.includes(cardId) ?? false;
  }

  /** Puts the player back: volume, then the card where it was (paused again if it was paused); an idle player stays idle. */
  private async restore(deviceId: string, snapshot: PlayerSnapshot): Promise<void> {
    const state = this.options.registry.get(deviceId);
    if (!state?.online) return;
    if (snapshot.volumePercent !== undefined && state.volume?.percent !== snapshot.volumePercent) await this.run(deviceId, { type: 'volume', percent: snapshot.volumePercent });
    if (snapshot.state === 'idle' || snapshot.cardId === undefined) {
      // The announcement card stops at its end; a player still on it (a timeout) is stopped.
      if (this.isAnnouncementCard(deviceId, state.playback.cardId ?? '') && state.playback.state === 'playing') await this.run(deviceId, { type: 'stop' });
      return;
    }
    await this.run(deviceId, {
      type: 'play',
      cardId: snapshot.cardId,
      ...(snapshot.chapterKey !== undefined ? { chapterKey: snapshot.chapterKey } : {}),
      ...(snapshot.trackKey !== undefined ? { trackKey: snapshot.trackKey } : {}),
      ...(snapshot.position !== undefined ? { secondsIn: snapshot.position } : {}),
    });
    if (snapshot.state === 'paused') await this.run(deviceId, { type: 'pause' });
  }

  private finish(job: Job): void {
    job.entry.status = 'finished';
    job.entry.finishedAt = this.options.registry.now().toISOString();
    this.options.registry.recordEvent(job.entry.deviceId, 'announcement_finished', this.eventData(job));
    job.settle(structuredClone(job.entry));
  }

  private fail(job: Job, failure: AnnouncementFailure, status: 'failed' | 'expired' | 'skipped'): void {
    job.expiry?.cancel();
    job.entry.status = status;
    job.entry.reason = failure.reason;
    job.entry.message = failure.message;
    job.entry.finishedAt = this.options.registry.now().toISOString();
    this.logger.info('announcement not played', { deviceId: job.entry.deviceId, reason: failure.reason, message: failure.message });
    if (this.options.registry.get(job.entry.deviceId)) {
      this.options.registry.recordEvent(job.entry.deviceId, 'announcement_failed', { ...this.eventData(job), reason: failure.reason, message: failure.message });
    }
    job.settle(structuredClone(job.entry));
  }

  private eventData(job: Job): Record<string, unknown> {
    const { request } = job;
    const what = request.text ?? request.audio_file_id ?? request.url;
    return {
      announcementId: job.record.id,
      ...(what !== undefined ? { announcement: what } : {}),
      ...(request.request_id !== undefined ? { requestId: request.request_id } : {}),
      priority: request.priority ?? 'normal',
    };
  }

  private async run(deviceId: string, command: DeviceCommand): Promise<void> {
    await this.options.commander.execute(deviceId, command);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
