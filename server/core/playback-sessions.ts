import { randomUUID } from 'node:crypto';
import type { PlaybackSession } from '../types/schemas';
import type { DeviceState } from './device-state';

/** Where finished (and newly started) sessions go: the playback_history collection, in the hub. */
export interface PlaybackHistorySink {
  /** Called with the same id when a session starts and again when it ends (an upsert). */
  save(session: PlaybackSession): void;
}

export type SessionEnd = 'stopped' | 'card_changed' | 'offline' | 'shutdown' | 'removed';

interface OpenSession {
  session: PlaybackSession;
  /** Clock time playback (re)started; undefined while paused or loading. */
  playingSince?: number;
  playedMs: number;
}

/**
 * Turns the stream of states into listening sessions: one per card played,
 * from the first moment it plays until it stops, the card changes or the
 * player goes away. Time spent paused does not count as played.
 */
export class PlaybackSessionTracker {
  private readonly open = new Map<string, OpenSession>();

  constructor(
    private readonly onSession: (session: PlaybackSession) => void,
    private readonly now: () => number,
  ) {}

  observe(next: DeviceState, at: Date): void {
    const open = this.open.get(next.deviceId);
    const end = open ? endReason(open, next) : undefined;
    if (open && end) this.close(open, at, end);
    const current = end ? undefined : open;
    if (next.playback.state === 'playing' && next.online && !next.shutDown) {
      if (current) this.resume(current, next, at);
      else this.start(next, at);
    } else if (current) {
      this.pause(current, at);
    }
  }

  /** The session playing now on this player, if any. */
  current(deviceId: string): PlaybackSession | undefined {
    const open = this.open.get(deviceId);
    return open ? { ...open.session, durationPlayed: playedSeconds(open, this.now()) } : undefined;
  }

  end(deviceId: string, at: Date, reason: SessionEnd): void {
    const open = this.open.get(deviceId);
    if (open) this.close(open, at, reason);
  }

  private start(state: DeviceState, at: Date): void {
    const session: PlaybackSession = {
      id: randomUUID(),
      deviceId: state.deviceId,
      startedAt: at.toISOString(),
      durationPlayed: 0,
      metadata: trackMetadata(state),
    };
    if (state.playback.cardId) session.cardId = state.playback.cardId;
    this.open.set(state.deviceId, { session, playingSince: at.getTime(), playedMs: 0 });
    this.onSession({ ...session });
  }

  private resume(open: OpenSession, state: DeviceState, at: Date): void {
    open.playingSince ??= at.getTime();
    open.session.metadata = { ...open.session.metadata, ...trackMetadata(state) };
  }

  private pause(open: OpenSession, at: Date): void {
    if (open.playingSince === undefined) return;
    open.playedMs += Math.max(0, at.getTime() - open.playingSince);
    open.playingSince = undefined;
  }

  private close(open: OpenSession, at: Date, reason: SessionEnd): void {
    this.pause(open, at);
    this.open.delete(open.session.deviceId);
    this.onSession({
      ...open.session,
      completedAt: at.toISOString(),
      durationPlayed: open.playedMs / 1000,
      metadata: { ...open.session.metadata, endedBy: reason },
    });
  }
}

function endReason(open: OpenSession, next: DeviceState): SessionEnd | undefined {
  if (next.shutDown) return 'shutdown';
  if (!next.online) return 'offline';
  if (next.playback.cardId !== open.session.cardId) return 'card_changed';
  const state = next.playback.state;
  return state === 'stopped' || state === 'idle' ? 'stopped' : undefined;
}

function playedSeconds(open: OpenSession, now: number): number {
  const running = open.playingSince === undefined ? 0 : Math.max(0, now - open.playingSince);
  return (open.playedMs + running) / 1000;
}

function trackMetadata(state: DeviceState): Record<string, unknown> {
  const { chapterKey, trackKey, trackTitle, chapterTitle } = state.playback;
  const metadata: Record<string, unknown> = {};
  if (chapterKey !== undefined) metadata['chapterKey'] = chapterKey;
  if (trackKey !== undefined) metadata['trackKey'] = trackKey;
  if (chapterTitle !== undefined) metadata['chapterTitle'] = chapterTitle;
  if (trackTitle !== undefined) metadata['trackTitle'] = trackTitle;
  return metadata;
}
