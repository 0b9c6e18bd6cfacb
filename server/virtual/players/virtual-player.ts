import { EventEmitter } from 'node:events';
import type { Logger } from '../../log/logger';
import type { CardEvent, YotoCard } from '../../yoto/card';
import { findTrack, neighbourTrack, type TrackPosition } from '../../yoto/commands/card-navigation';
import type { Clock, ClockTimer } from '../../time/clock';
import {
  cardIdFromUri,
  deviceTopics,
  hardwareVolumeToPercent,
  HARDWARE_VOLUME_MAX,
  percentToHardwareVolume,
  RESPONSE_KEYS,
  SHUTDOWN_RUNNING,
  type CommandName,
  type ResponseResult,
  type YotoEventsMessage,
  type YotoPresenceMessage,
  type YotoResponseMessage,
} from '../../yoto/protocol';
import type { PlayerButton, VirtualCardLibrary, VirtualPlayerControl, VirtualPlayerSnapshot, VirtualPlayerSpec } from '../contracts';
import { dataStatus, legacyDiagnostics, legacyFullStatus, type PlayerVitals } from './status-payloads';
import { fetchStream, type StreamFetch, type StreamProbe } from './stream-fetch';
import type { VirtualPlayerTiming } from './timing';
import type { YotoDeviceConfig } from '../../yoto/rest/types';
import { parseJsonObject } from '../../text/json-object';
import { alarmsDue, modeSettings, msToNextMinute, type ModeSettings } from './player-schedule';

/** The tone an alarm plays when its sound is not a card the player can read. */
export const ALARM_TONE_CARD_ID = 'vtAlarmTone';

export interface VirtualPlayerDeps {
  cards: VirtualCardLibrary;
  clock: Clock;
  timing: VirtualPlayerTiming;
  logger: Logger;
  /** Publishes one JSON message on the fleet's connection. */
  publish: (topic: string, payload: unknown) => void;
  /** Whether the fleet is connected to the broker. */
  isConnected: () => boolean;
  /** Whether the player may fetch a streaming track from this URL (redirects included). */
  allowStream?: (url: URL) => boolean;
}

/** Reasons in the legacy status `shutDown` ("userShutdown" is the captured one). */
export type ShutdownReason = 'userShutdown' | 'sleepTimer' | 'lowBattery' | 'reboot';

type SessionStatus = 'loading' | 'playing' | 'paused' | 'stopped';

interface StartOptions {
  source: 'card' | 'MQTT';
  secondsIn?: number;
  cutOff?: number;
  anyButtonStop?: boolean;
}

/** One card being played. */
interface Session {
  card: YotoCard;
  at: TrackPosition;
  source: 'card' | 'MQTT';
  status: SessionStatus;
  /** Seconds into the track at `resumedAt` (or where it stands while not playing). */
  basePosition: number;
  resumedAt: number;
  trackLength: number;
  cutOff?: number;
  anyButtonStop: boolean;
  stream?: StreamFetch;
  /** A stream track whose first bytes have not arrived yet. */
  awaitingStream: boolean;
  /** Guards late stream results: each track start gets a new one. */
  generation: number;
}

/** What a command does once it is acknowledged (the ack goes out first, like a real player). */
type Outcome = { result: ResponseResult; then?: () => void };

const OK: Outcome = { result: 'OK' };
const FAIL: Outcome = { result: 'FAIL' };

/** Progress fields change every second; they go out with position reports, not with every change. */
const PROGRESS_FIELDS = new Set<keyof YotoEventsMessage>(['position', 'sleepTimerSeconds']);
/** What a card change re-sends in full, so a listener that clears on a new card gets all of it back. */
const CARD_FIELDS = new Set<keyof YotoEventsMessage>(['trackLength', 'position', 'source', 'cardUpdatedAt', 'chapterTitle', 'chapterKey', 'trackTitle', 'trackKey']);

const isOptionalString = (value: unknown): value is string | undefined => value === undefined || (typeof value === 'string' && value.length > 0);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isByte = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 255;

function isInteractive(card: YotoCard, at: TrackPosition): boolean {
  return card.content.playbackType === 'interactive' || at.track.events !== undefined;
}

/** A player's spec, optionally with how it starts out. */
/** `volumeMax`: the maximum-volume cap (0..16) the player's settings impose; default none (16). */
export type VirtualPlayerSetup = VirtualPlayerSpec & { batteryLevel?: number; charging?: boolean; volumeMax?: number };

/**
 * A simulated Yoto player on the virtual cloud's MQTT broker. It obeys the
 * real commands, publishes messages of the captured shapes, plays linear and
 * interactive cards, fetches streaming tracks each time it plays them, and
 * lives on an injectable clock: position, battery and sleep timer all follow it.
 */
export class VirtualPlayer extends EventEmitter<{ change: [snapshot: VirtualPlayerSnapshot] }> implements VirtualPlayerControl {
  private readonly deps: VirtualPlayerDeps;
  private readonly logger: Logger;
  private attached = false;
  private poweredOn = true;
  private bootedAt = 0;
  private clockSynced = false;
  private battery: number;
  private charging: boolean;
  private volume = 8;
  /** The maximum-volume cap: the setup's at first, then the player's settings'. */
  private volumeMax: number;
  /** The player's settings as the cloud last gave them. */
  private config: YotoDeviceConfig = {};
  private mode: ModeSettings | undefined;
  private minuteTimer: ClockTimer | undefined;
  /** The screen is awake until then (or while something plays). */
  private awakeUntil = 0;
  private preview: { icon: string; until: number } | undefined;
  private previewTimer: ClockTimer | undefined;
  private bluetoothOn = false;
  private headphonesIn = false;
  private lastAlarm: VirtualPlayerSnapshot['lastAlarm'];
  private nightlight = 'off';
  private insertedCardId: string | undefined;
  private session: Session | undefined;
  private generation = 0;
  private sleepEndsAt: number | undefined;
  private lastEventsRequestAt = Number.NEGATIVE_INFINITY;
  private lastEvents: YotoEventsMessage = {};
  private lastStreamError: VirtualPlayerSnapshot['lastStreamError'];
  private trackTimers: ClockTimer[] = [];
  private lifeTimers: ClockTimer[] = [];
  private sleepTimer: ClockTimer | undefined;
  private rebootTimer: ClockTimer | undefined;

  constructor(
    readonly spec: VirtualPlayerSetup,
    deps: VirtualPlayerDeps,
  ) {
    super();
    this.deps = deps;
    this.logger = deps.logger.child({ deviceId: spec.deviceId });
    this.battery = spec.batteryLevel ?? 100;
    this.charging = spec.charging ?? false;
    this.volumeMax = Math.min(HARDWARE_VOLUME_MAX, Math.max(0, Math.round(spec.volumeMax ?? HARDWARE_VOLUME_MAX)));
    this.volume = Math.min(this.volume, this.volumeMax);
  }

  get deviceId(): string {
    return this.spec.deviceId;
  }

  snapshot(): VirtualPlayerSnapshot {
    const session = this.session;
    return {
      deviceId: this.spec.deviceId,
      name: this.spec.name,
      deviceType: this.spec.deviceType,
      online: this.isRunning() && this.deps.isConnected(),
      poweredOn: this.isRunning(),
      cardId: session?.card.cardId ?? 'none',
      ...(session ? { chapterKey: session.at.chapter.key, trackKey: session.at.track.key, trackLength: Math.round(session.trackLength) } : {}),
      playbackStatus: session?.status ?? 'stopped',
      position: Math.floor(this.position()),
      volumePercent: hardwareVolumeToPercent(this.volume),
      batteryLevel: Math.round(this.battery),
      charging: this.charging,
      ...(this.sleepEndsAt !== undefined ? { sleepTimerSeconds: this.sleepSecondsLeft() } : {}),
      nightlight: this.nightlight,
      ...(this.lastStreamError ? { lastStreamError: { ...this.lastStreamError } } : {}),
      ...(this.mode ? { dayMode: this.mode.mode, brightness: this.mode.brightness } : {}),
      maxVolumeLevel: this.volumeMax,
      screenOn: this.screenOn(),
      ...(this.preview && this.preview.until > this.deps.clock.now() ? { display: { icon: this.preview.icon, until: new Date(this.preview.until).toISOString() } } : {}),
      bluetooth: this.bluetoothOn,
      headphones: this.headphonesIn,
      ...(this.lastAlarm ? { lastAlarm: { ...this.lastAlarm } } : {}),
    };
  }

  // ---- settings (the cloud's config for this player) ----

  /** New settings from the cloud: day/night mode, its maximum volume and night light apply at once. */
  applyConfig(config: YotoDeviceConfig): void {
    this.config = { ...config };
    if (config.bluetoothEnabled === '0') this.bluetoothOn = false;
    if (this.isRunning()) {
      this.applyMode(true);
      this.changed();
    }
  }

  /** Day or night mode for the clock's time; `force` re-applies the mode's limits after a settings change. */
  private applyMode(force: boolean): void {
    const next = modeSettings(this.config, this.deps.clock.now());
    const switched = this.mode?.mode !== next.mode;
    this.mode = next;
    if (!switched && !force) return;
    this.volumeMax = next.maxVolume;
    // A too-high volume comes down to the new maximum, as on a real player at bedtime.
    if (this.volume > this.volumeMax) this.volume = this.volumeMax;
    if (this.spec.hasNightLight && switched) this.nightlight = next.nightlight;
    this.publishEvents('changes');
    this.publishStatus(false);
  }

  private startMinuteTimer(): void {
    this.minuteTimer?.cancel();
    this.minuteTimer = this.deps.clock.setTimeout(() => this.minuteTick(), msToNextMinute(this.deps.clock.now()));
  }

  /** Every minute: switch day/night at their times and sound the alarms set for now. */
  private minuteTick(): void {
    this.minuteTimer = undefined;
    if (!this.isRunning()) return;
    this.applyMode(false);
    for (const alarm of alarmsDue(this.config, this.deps.clock.now())) this.soundAlarm(alarm.soundId, alarm.volume, alarm.time);
    this.startMinuteTimer();
    this.changed();
  }

  private soundAlarm(soundId: string, volume: number | undefined, time: string): void {
    const card = (soundId ? this.deps.cards.get(soundId) : undefined) ?? this.deps.cards.get(ALARM_TONE_CARD_ID);
    const first = card ? findTrack(card) : undefined;
    this.wake();
    this.lastAlarm = { time, soundId: card?.cardId ?? soundId, at: new Date(this.deps.clock.now()).toISOString() };
    if (volume !== undefined) this.setVolumeLevel(volume);
    if (card && first) this.startTrack(card, first, { source: 'MQTT' });
    else this.logger.warn('alarm has no sound to play', { soundId });
  }

  private wake(): void {
    const seconds = Number(this.config.displayDimTimeout ?? '60');
    this.awakeUntil = this.deps.clock.now() + (Number.isFinite(seconds) ? seconds : 60) * 1000;
  }

  private screenOn(): boolean {
    return this.isRunning() && (this.session?.status === 'playing' || this.deps.clock.now() < this.awakeUntil);
  }

  // ---- control (the virtual cloud's /virtual/devices API) ----

  async press(button: PlayerButton): Promise<void> {
    this.assertRunning();
    this.wake();
    const session = this.session;
    if (!session || session.status === 'stopped') return;
    if (session.anyButtonStop) {
      this.stopPlayback();
    } else if (isInteractive(session.card, session.at)) {
      const event = button === 'left' ? session.at.track.events?.onLhb : session.at.track.events?.onRhb;
      if (event) this.runCardEvent(session, event, true);
    } else if (!session.card.content.config?.disableTrackNav) {
      this.stepLinear(session, button === 'left' ? -1 : 1);
    }
    this.changed();
  }

  async turnVolume(steps: number): Promise<void> {
    this.assertRunning();
    if (!Number.isFinite(steps)) throw new Error('volume steps must be a number');
    this.wake();
    this.setVolumeLevel(this.volume + Math.round(steps));
    this.changed();
  }

  async insertCard(cardId: string): Promise<void> {
    this.assertRunning();
    const card = this.deps.cards.get(cardId);
    if (!card) throw new Error(`card ${cardId} is not in the virtual library`);
    const first = findTrack(card);
    if (!first) throw new Error(`card ${cardId} has no tracks`);
    this.insertedCardId = cardId;
    this.wake();
    this.startTrack(card, first, { source: 'card' });
    this.changed();
  }

  async removeCard(): Promise<void> {
    this.assertRunning();
    if (this.insertedCardId === undefined) return;
    this.insertedCardId = undefined;
    if (this.session?.source === 'card') this.stopPlayback();
    this.changed();
  }

  async powerOff(): Promise<void> {
    this.assertAttached();
    this.shutDown('userShutdown');
  }

  async powerOn(): Promise<void> {
    this.assertAttached();
    if (this.poweredOn) return;
    if (this.battery <= 0 && !this.charging) throw new Error(`${this.spec.name} has an empty battery: charge it first`);
    this.poweredOn = true;
    this.boot();
  }

  /** Puts the player on (or off) its charger; a running player says so in its status at once. */
  async setCharging(charging: boolean): Promise<void> {
    this.charging = charging;
    if (this.isRunning()) this.publishStatus(false);
    this.changed();
  }

  /** Plugs wired headphones in (or pulls them out); a running player says so in its status at once. */
  async setHeadphones(plugged: boolean): Promise<void> {
    this.headphonesIn = plugged;
    if (this.isRunning()) this.publishStatus(false);
    this.changed();
  }

  // ---- fleet lifecycle ----

  /** The fleet is connected: a player that was on boots. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    if (this.poweredOn) this.boot();
  }

  /** The fleet stops: every timer and stream ends, silently. */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    // A player caught mid-reboot comes back on with the fleet.
    if (this.rebootTimer) this.poweredOn = true;
    this.endSession();
    this.cancelLifeTimers();
    this.changed();
  }

  /** The fleet's broker connection came or went. */
  connectionChanged(): void {
    this.changed();
  }

  /** A command arrived on `device/{id}/command/...`. A player that is off hears nothing. */
  handleCommand(command: CommandName, body: string): void {
    if (!this.isRunning()) return;
    const outcome = this.obey(command, body);
    this.publishAck(command, outcome.result, body);
    outcome.then?.();
    this.changed();
  }

  // ---- commands ----

  private obey(command: CommandName, body: string): Outcome {
    switch (command) {
      case 'events/request':
        this.lastEventsRequestAt = this.deps.clock.now();
        return { result: 'OK', then: () => this.publishEvents('full') };
      case 'status/request':
        return { result: 'OK', then: () => this.publishStatus(true) };
      case 'status':
        return { result: 'OK', then: () => this.publishFullStatus(body) };
      case 'card/start':
        return this.obeyCardStart(body);
      case 'card/pause':
        return this.obeyPause();
      case 'card/resume':
        return this.obeyResume();
      case 'card/stop':
        return { result: 'OK', then: () => this.stopPlayback() };
      case 'volume/set':
        return this.obeyVolume(body);
      case 'ambients/set':
        return this.obeyAmbients(body);
      case 'sleep-timer/set':
        return this.obeySleepTimer(body);
      case 'reboot':
        return { result: 'OK', then: () => this.reboot() };
      case 'display/preview':
        return this.obeyDisplayPreview(body);
      case 'bluetooth/on':
        return this.config.bluetoothEnabled === '0' ? FAIL : { result: 'OK', then: () => void (this.bluetoothOn = true) };
      case 'bluetooth/off':
        return { result: 'OK', then: () => void (this.bluetoothOn = false) };
    }
  }

  private obeyCardStart(body: string): Outcome {
    const payload = parseJsonObject(body);
    if (!payload || typeof payload.uri !== 'string') return FAIL;
    const cardId = cardIdFromUri(payload.uri);
    const card = cardId ? this.deps.cards.get(cardId) : undefined;
    const { chapterKey, trackKey, secondsIn, cutOff, anyButtonStop } = payload;
    if (!card || !isOptionalString(chapterKey) || !isOptionalString(trackKey)) return FAIL;
    if (secondsIn !== undefined && (!isFiniteNumber(secondsIn) || secondsIn < 0)) return FAIL;
    if (cutOff !== undefined && (!isFiniteNumber(cutOff) || cutOff <= 0)) return FAIL;
    if (anyButtonStop !== undefined && typeof anyButtonStop !== 'boolean') return FAIL;
    // Keys are compared as the card spells them: "1" does not find chapter "01".
    const at = findTrack(card, chapterKey, trackKey);
    if (!at) return FAIL;
    return {
      result: 'OK',
      then: () => this.startTrack(card, at, {
        source: 'MQTT',
        ...(secondsIn !== undefined ? { secondsIn } : {}),
        ...(cutOff !== undefined ? { cutOff } : {}),
        ...(anyButtonStop !== undefined ? { anyButtonStop } : {}),
      }),
    };
  }

  private obeyPause(): Outcome {
    const session = this.session;
    if (!session || session.status === 'stopped') return FAIL;
    if (session.status === 'paused') return OK;
    return { result: 'OK', then: () => this.pause(session) };
  }

  private obeyResume(): Outcome {
    const session = this.session;
    if (!session) return FAIL;
    if (session.status === 'paused') return { result: 'OK', then: () => this.resume(session) };
    if (session.status === 'stopped') {
      return { result: 'OK', then: () => this.startTrack(session.card, session.at, { source: session.source, secondsIn: session.basePosition }) };
    }
    return OK;
  }

  private obeyVolume(body: string): Outcome {
    const volume = parseJsonObject(body)?.volume;
    if (!isFiniteNumber(volume) || volume < 0 || volume > 100) return FAIL;
    return { result: 'OK', then: () => this.setVolumeLevel(percentToHardwareVolume(volume)) };
  }

  private obeyAmbients(body: string): Outcome {
    const colour = parseJsonObject(body);
    if (!this.spec.hasNightLight || !colour || !isByte(colour.r) || !isByte(colour.g) || !isByte(colour.b)) return FAIL;
    const { r, g, b } = colour;
    return {
      result: 'OK',
      then: () => {
        this.nightlight = r === 0 && g === 0 && b === 0 ? 'off' : `0x${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
      },
    };
  }

  /** The icon shows only while the screen is awake; asleep, the player acks and shows nothing. */
  private obeyDisplayPreview(body: string): Outcome {
    const payload = parseJsonObject(body);
    const timeout = payload?.timeout;
    if (!payload || typeof payload.uri !== 'string' || payload.uri === '' || !isFiniteNumber(timeout) || timeout <= 0) return FAIL;
    const icon = payload.uri;
    return {
      result: 'OK',
      then: () => {
        if (!this.screenOn()) return;
        this.previewTimer?.cancel();
        this.preview = { icon, until: this.deps.clock.now() + timeout * 1000 };
        this.previewTimer = this.deps.clock.setTimeout(() => {
          this.previewTimer = undefined;
          this.preview = undefined;
          this.changed();
        }, timeout * 1000);
      },
    };
  }

  private obeySleepTimer(body: string): Outcome {
    const seconds = parseJsonObject(body)?.seconds;
    if (!isFiniteNumber(seconds) || seconds < 0) return FAIL;
    return { result: 'OK', then: () => this.setSleepTimer(Math.round(seconds)) };
  }

  // ---- playback ----

  private position(): number {
    const session = this.session;
    if (!session) return 0;
    const elapsed = session.status === 'playing' ? (this.deps.clock.now() - session.resumedAt) / 1000 : 0;
    return Math.min(session.basePosition + elapsed, this.trackEnd(session));
  }

  /** Where the track stops: its end, or the cutOff of the card/start that began it. */
  private trackEnd(session: Session): number {
    return session.cutOff !== undefined ? Math.min(session.cutOff, session.trackLength) : session.trackLength;
  }

  private startTrack(card: YotoCard, at: TrackPosition, options: StartOptions): void {
    this.endSession();
    const isStream = at.track.type === 'stream';
    const session: Session = {
      card,
      at,
      source: options.source,
      status: isStream ? 'loading' : 'playing',
      basePosition: options.secondsIn ?? 0,
      resumedAt: this.deps.clock.now(),
      trackLength: at.track.duration ?? this.deps.timing.defaultTrackSeconds,
      ...(options.cutOff !== undefined ? { cutOff: options.cutOff } : {}),
      anyButtonStop: options.anyButtonStop ?? false,
      awaitingStream: isStream,
      generation: ++this.generation,
    };
    this.session = session;
    if (isStream) {
      this.publishEvents('progress');
      this.openStream(session);
      return;
    }
    session.basePosition = Math.min(session.basePosition, session.trackLength);
    this.publishEvents('progress');
    this.runTrackTimers(session);
  }

  /** A real player fetches a streaming track's URL every time it plays it. */
  private openStream(session: Session): void {
    const url = session.at.track.trackUrl;
    const stream = fetchStream(url, {
      ...(this.deps.allowStream ? { allow: this.deps.allowStream } : {}),
      timeoutMs: this.deps.timing.streamTimeoutMs,
      onInterrupted: (reason) => this.streamFailed(session, url, reason),
    });
    session.stream = stream;
    void stream.result.then((probe) => this.streamOpened(session, url, probe));
  }

  private isCurrent(session: Session): boolean {
    return this.attached && this.session === session && session.generation === this.generation;
  }

  private streamOpened(session: Session, url: string, probe: StreamProbe): void {
    if (!this.isCurrent(session)) return;
    if (!probe.ok) {
      this.streamFailed(session, url, probe.reason);
      return;
    }
    session.awaitingStream = false;
    session.trackLength = probe.durationSeconds ?? session.at.track.duration ?? this.deps.timing.defaultTrackSeconds;
    session.basePosition = Math.min(session.basePosition, session.trackLength);
    if (session.status === 'loading') {
      session.status = 'playing';
      session.resumedAt = this.deps.clock.now();
      this.runTrackTimers(session);
    }
    this.publishEvents('progress');
    this.changed();
  }

  /** A broken stream stops playback and is kept for the snapshot, as a player shows an error. */
  private streamFailed(session: Session, url: string, reason: string): void {
    if (!this.isCurrent(session)) return;
    this.lastStreamError = { url, reason, at: new Date(this.deps.clock.now()).toISOString() };
    this.logger.info('virtual player could not play a stream', { url, reason });
    session.basePosition = this.position();
    session.status = 'stopped';
    session.awaitingStream = false;
    session.stream?.cancel();
    session.stream = undefined;
    this.cancelTrackTimers();
    this.publishEvents('changes');
    this.changed();
  }

  private runTrackTimers(session: Session): void {
    this.cancelTrackTimers();
    const { clock, timing } = this.deps;
    const remainingMs = Math.max(0, (this.trackEnd(session) - this.position()) * 1000);
    this.trackTimers.push(
      clock.setTimeout(() => this.trackEnded(session), remainingMs),
      clock.setInterval(() => this.publishEvents('progress'), timing.positionReportMs),
    );
  }

  private cancelTrackTimers(): void {
    for (const timer of this.trackTimers) timer.cancel();
    this.trackTimers = [];
  }

  private pause(session: Session): void {
    session.basePosition = this.position();
    session.status = 'paused';
    this.cancelTrackTimers();
    this.publishEvents('progress');
  }

  private resume(session: Session): void {
    session.status = session.awaitingStream ? 'loading' : 'playing';
    session.resumedAt = this.deps.clock.now();
    if (session.status === 'playing') this.runTrackTimers(session);
    this.publishEvents('progress');
  }

  private trackEnded(session: Session): void {
    if (!this.isCurrent(session)) return;
    session.basePosition = this.trackEnd(session);
    if (session.cutOff !== undefined && session.cutOff < session.trackLength) {
      this.stopPlayback();
    } else if (isInteractive(session.card, session.at)) {
      this.runCardEvent(session, session.at.track.events?.onEnd ?? { cmd: 'stop' }, false);
    } else {
      this.advanceLinear(session);
    }
    this.changed();
  }

  /** `goto` to a key the card lacks fails silently on a real player: a button does nothing, the end stops. */
  private runCardEvent(session: Session, event: CardEvent, fromButton: boolean): void {
    if (event.cmd === 'stop') {
      this.stopPlayback();
      return;
    }
    const target = findTrack(session.card, event.params.chapterKey, event.params.trackKey);
    if (target) this.startTrack(session.card, target, { source: session.source });
    else if (!fromButton) this.stopPlayback();
  }

  private advanceLinear(session: Session): void {
    const mode = session.card.content.config?.autoadvance;
    if (mode === 'none') {
      this.stopPlayback();
      return;
    }
    const next = mode === 'repeat' ? session.at : neighbourTrack(session.card, session.at, 1);
    if (next) this.startTrack(session.card, next, { source: session.source });
    else this.stopPlayback();
  }

  private stepLinear(session: Session, step: 1 | -1): void {
    const target = neighbourTrack(session.card, session.at, step) ?? (step === -1 ? session.at : undefined);
    if (target) this.startTrack(session.card, target, { source: session.source });
    else this.stopPlayback();
  }

  private endSession(): void {
    this.cancelTrackTimers();
    this.session?.stream?.cancel();
    this.session = undefined;
  }

  private stopPlayback(): void {
    this.endSession();
    this.publishEvents('changes');
  }

  private setVolumeLevel(level: number): void {
    const clamped = Math.min(this.volumeMax, Math.max(0, level));
    // At the cap already, a higher request still gets an answer: the player reports where it stays.
    if (clamped === this.volume && clamped === Math.max(0, level)) return;
    this.volume = clamped;
    this.publishEvents('changes');
  }

  // ---- sleep timer, power, battery ----

  private sleepSecondsLeft(): number {
    return this.sleepEndsAt === undefined ? 0 : Math.max(0, Math.ceil((this.sleepEndsAt - this.deps.clock.now()) / 1000));
  }

  private setSleepTimer(seconds: number): void {
    this.sleepTimer?.cancel();
    this.sleepTimer = undefined;
    this.sleepEndsAt = undefined;
    if (seconds > 0) {
      this.sleepEndsAt = this.deps.clock.now() + seconds * 1000;
      this.sleepTimer = this.deps.clock.setTimeout(() => this.sleepTimerEnded(), seconds * 1000);
    }
    this.publishEvents('progress');
  }

  /** The sleep timer stops the story and switches the player off. */
  private sleepTimerEnded(): void {
    this.sleepTimer = undefined;
    this.sleepEndsAt = undefined;
    this.stopPlayback();
    this.shutDown('sleepTimer');
  }

  private reboot(): void {
    this.shutDown('reboot');
    this.rebootTimer = this.deps.clock.setTimeout(() => {
      this.rebootTimer = undefined;
      if (!this.attached || this.poweredOn) return;
      this.poweredOn = true;
      this.boot();
    }, this.deps.timing.rebootMs);
  }

  /** Power on: the captured start-up sequence, then the periodic status and the battery. */
  private boot(): void {
    const { clock, timing } = this.deps;
    this.bootedAt = clock.now();
    this.clockSynced = false;
    this.publishPresence('online');
    this.publishLegacy(legacyFullStatus(this.vitals(SHUTDOWN_RUNNING)));
    this.publishLegacy(legacyDiagnostics(this.vitals(SHUTDOWN_RUNNING)));
    this.clockSynced = true;
    this.mode = modeSettings(this.config, clock.now());
    this.volumeMax = this.mode.maxVolume;
    if (this.volume > this.volumeMax) this.volume = this.volumeMax;
    this.wake();
    this.publishStatus(false);
    this.lastEvents = {};
    this.publishEvents('full');
    this.cancelLifeTimers();
    this.lifeTimers.push(
      clock.setInterval(() => this.periodicStatus(), timing.statusIntervalMs),
      clock.setInterval(() => this.batteryTick(), timing.batteryTickMs),
    );
    this.startMinuteTimer();
    this.changed();
  }

  /** Power off: a last legacy status whose shutDown is not "nA", then silence. */
  private shutDown(reason: ShutdownReason): void {
    if (!this.isRunning()) return;
    this.endSession();
    this.sleepTimer?.cancel();
    this.sleepTimer = undefined;
    this.sleepEndsAt = undefined;
    this.publishLegacy(legacyFullStatus(this.vitals(reason)));
    // On a real player the broker publishes this last will when the connection drops.
    this.publishPresence('offline');
    this.poweredOn = false;
    this.cancelLifeTimers();
    this.changed();
  }

  private cancelLifeTimers(): void {
    for (const timer of this.lifeTimers) timer.cancel();
    this.lifeTimers = [];
    this.sleepTimer?.cancel();
    this.sleepTimer = undefined;
    this.sleepEndsAt = undefined;
    this.rebootTimer?.cancel();
    this.rebootTimer = undefined;
    this.minuteTimer?.cancel();
    this.minuteTimer = undefined;
    this.previewTimer?.cancel();
    this.previewTimer = undefined;
    this.preview = undefined;
  }

  private periodicStatus(): void {
    this.publishLegacy(legacyDiagnostics(this.vitals(SHUTDOWN_RUNNING)));
    this.publishStatus(false);
  }

  private batteryTick(): void {
    const { timing } = this.deps;
    const perHour = this.charging
      ? timing.chargePercentPerHour
      : -(this.session?.status === 'playing' ? timing.playingDrainPercentPerHour : timing.idleDrainPercentPerHour);
    const before = Math.round(this.battery);
    this.battery = Math.min(100, Math.max(0, this.battery + (perHour * timing.batteryTickMs) / 3_600_000));
    if (this.battery <= 0 && !this.charging) {
      this.shutDown('lowBattery');
      return;
    }
    if (Math.round(this.battery) !== before) this.changed();
  }

  // ---- publishing ----

  private isRunning(): boolean {
    return this.attached && this.poweredOn;
  }

  private assertAttached(): void {
    if (!this.attached) throw new Error(`${this.spec.name} is not running: the virtual fleet is stopped`);
  }

  private assertRunning(): void {
    this.assertAttached();
    if (!this.poweredOn) throw new Error(`${this.spec.name} is switched off`);
  }

  private vitals(shutDown: string): PlayerVitals {
    const { clock } = this.deps;
    const session = this.session;
    return {
      spec: this.spec,
      batteryLevel: Math.round(this.battery),
      charging: this.charging,
      activeCard: session?.card.cardId ?? 'none',
      cardInserted: session?.source === 'MQTT' ? 2 : this.insertedCardId !== undefined ? 1 : 0,
      playingStatus: session?.status === 'playing' ? 1 : session?.status === 'paused' ? 2 : 0,
      volumeLevel: this.volume,
      volumeMax: this.volumeMax,
      nightlight: this.nightlight,
      day: this.mode ? (this.mode.mode === 'day' ? 1 : 0) : -1,
      dayBright: brightnessNumber(this.config.dayDisplayBrightness),
      nightBright: brightnessNumber(this.config.nightDisplayBrightness),
      timeFormat: this.config.hourFormat ?? '12',
      bluetoothHp: this.bluetoothOn ? 1 : 0,
      headphones: this.headphonesIn ? 1 : 0,
      upTimeSeconds: Math.floor((clock.now() - this.bootedAt) / 1000),
      utcTime: this.clockSynced ? Math.floor(clock.now() / 1000) : 0,
      shutDown,
    };
  }

  /** Every events field, in the order a real player sends them. */
  private eventsState(): YotoEventsMessage {
    const session = this.session;
    const state: YotoEventsMessage = {
      repeatAll: false,
      volume: this.volume,
      volumeMax: this.volumeMax,
      cardId: session?.card.cardId ?? 'none',
      playbackStatus: session?.status ?? 'stopped',
      streaming: session?.at.track.type === 'stream',
      playbackWait: false,
      sleepTimerActive: this.sleepEndsAt !== undefined,
    };
    if (this.sleepEndsAt !== undefined) state.sleepTimerSeconds = this.sleepSecondsLeft();
    if (session) {
      state.trackLength = Math.round(session.trackLength);
      state.position = Math.floor(this.position());
      state.source = session.source;
      if (session.card.updatedAt) state.cardUpdatedAt = session.card.updatedAt;
      state.chapterTitle = session.at.chapter.title;
      state.chapterKey = session.at.chapter.key;
      state.trackTitle = session.at.track.title;
      state.trackKey = session.at.track.key;
    }
    return state;
  }

  /**
   * Events are partial: only what changed since the last one ("progress" adds
   * position and the sleep countdown; "full" answers an events/request). A
   * volume change carries volumeMax too, as captured. The cloud only pushes
   * them within the window opened by the last events/request.
   */
  private publishEvents(mode: 'changes' | 'progress' | 'full'): void {
    const state = this.eventsState();
    const message: Record<string, unknown> = {};
    const cardChanged = this.lastEvents.cardId !== state.cardId;
    for (const [key, value] of Object.entries(state) as Array<[keyof YotoEventsMessage, unknown]>) {
      const changed = this.lastEvents[key] !== value;
      const wanted =
        mode === 'full' ||
        (changed && (mode === 'progress' || !PROGRESS_FIELDS.has(key))) ||
        (cardChanged && CARD_FIELDS.has(key)) ||
        (key === 'volumeMax' && 'volume' in message);
      if (wanted) message[key] = value;
    }
    if (Object.keys(message).length === 0) return;
    this.lastEvents = { ...this.lastEvents, ...message };
    const withinWindow = this.deps.clock.now() - this.lastEventsRequestAt <= this.deps.timing.eventsPushWindowMs;
    if (!this.isRunning() || !withinWindow) return;
    message.eventUtc = Math.floor(this.deps.clock.now() / 1000);
    this.deps.publish(deviceTopics.events(this.deviceId), message);
    // Real players publish the same event on the undocumented topic as well.
    this.deps.publish(deviceTopics.legacyEvents(this.deviceId), message);
  }

  private publishStatus(requested: boolean): void {
    this.deps.publish(deviceTopics.status(this.deviceId), dataStatus(this.vitals(SHUTDOWN_RUNNING), requested));
  }

  /** `status/full`: the extended status, echoing the request's `requestId`. */
  private publishFullStatus(body: string): void {
    const requestId = parseJsonObject(body)?.requestId;
    const message = legacyFullStatus(this.vitals(SHUTDOWN_RUNNING));
    this.deps.publish(deviceTopics.fullStatus(this.deviceId), typeof requestId === 'string' ? { ...message, requestId } : message);
  }

  private publishPresence(state: 'online' | 'offline'): void {
    const message: YotoPresenceMessage = { state, ts: this.deps.clock.now() };
    this.deps.publish(deviceTopics.presence(this.deviceId), message);
  }

  private publishLegacy(message: unknown): void {
    this.deps.publish(deviceTopics.legacyStatus(this.deviceId), message);
  }

  private publishAck(command: CommandName, result: ResponseResult, body: string): void {
    const response: YotoResponseMessage = { status: { [RESPONSE_KEYS[command]]: result, req_body: body } };
    this.deps.publish(deviceTopics.response(this.deviceId), response);
  }

  private changed(): void {
    if (this.listenerCount('change') > 0) this.emit('change', this.snapshot());
  }
}

/** The status reports brightness as a number; "auto" shows as the light sensor's current pick (100 here). */
function brightnessNumber(value: string | undefined): number {
  const number = Number(value);
  return value === undefined || value === 'auto' || !Number.isFinite(number) ? 100 : number;
}
