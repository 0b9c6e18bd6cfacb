import type { DeviceEvent, PlaybackSession } from '../types/schemas';

/** What happened on one player on one UTC day. */
interface DayBucket {
  listeningSeconds: number;
  sessions: number;
  events: number;
  eventsByType: Map<string, number>;
  /** cardId -> plays and seconds listened. */
  cards: Map<string, { plays: number; seconds: number }>;
}

interface SessionContribution {
  deviceId: string;
  day: string;
  cardId?: string;
  seconds: number;
  open: boolean;
}

export interface Range {
  /** First UTC day included, YYYY-MM-DD. */
  fromDay: string;
  /** Last UTC day included, YYYY-MM-DD. */
  toDay: string;
}

export interface DeviceTotals {
  deviceId: string;
  listeningSeconds: number;
  sessions: number;
  events: number;
  eventsByType: Record<string, number>;
  /** The last day in the range with any activity. */
  lastActiveDay?: string;
}

export interface ContentTotals {
  cardId: string;
  plays: number;
  listeningSeconds: number;
  devices: number;
}

export interface DayTotals {
  date: string;
  listeningSeconds: number;
  sessions: number;
  events: number;
}

/** Seconds a session has played by now beyond what it reported (open sessions only). */
export type LiveExtra = (deviceId: string, sessionId: string, reportedSeconds: number) => number;

/** A UTC time as the hub writes it (toISOString): its day is its first ten characters. */
const ISO_UTC = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export function dayOf(timestamp: string | Date): string | undefined {
  // The event log's timestamps (every event counted) take the quick way; anything else is parsed.
  if (typeof timestamp === 'string' && ISO_UTC.test(timestamp)) return timestamp.slice(0, 10);
  const ms = timestamp instanceof Date ? timestamp.getTime() : Date.parse(timestamp);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : undefined;
}

/**
 * Per device, per UTC day rollups of the event log and the playback sessions.
 * Every update is O(1) (a session that reports again replaces its earlier
 * contribution); a query costs O(devices x days in range), never a log scan.
 */
export class Rollups {
  private readonly byDevice = new Map<string, Map<string, DayBucket>>();
  private readonly sessions = new Map<string, SessionContribution>();

  addEvent(event: DeviceEvent): void {
    const day = dayOf(event.timestamp);
    if (day) this.addEventCount(event.deviceId, day, event.type, 1);
  }

  /** `count` events of one type on one device and UTC day (negative: taken back). */
  addEventCount(deviceId: string, day: string, type: string, count: number): void {
    const bucket = this.bucket(deviceId, day);
    bucket.events += count;
    bucket.eventsByType.set(type, (bucket.eventsByType.get(type) ?? 0) + count);
  }

  addSession(session: PlaybackSession): void {
    const previous = this.sessions.get(session.id);
    const seconds = Number.isFinite(session.durationPlayed) ? Math.max(0, session.durationPlayed ?? 0) : 0;
    if (previous) {
      const bucket = this.bucket(previous.deviceId, previous.day);
      bucket.listeningSeconds += seconds - previous.seconds;
      if (previous.cardId) this.card(bucket, previous.cardId).seconds += seconds - previous.seconds;
      previous.seconds = seconds;
      previous.open = session.completedAt === undefined;
      return;
    }
    const day = dayOf(session.startedAt);
    if (!day) return;
    const bucket = this.bucket(session.deviceId, day);
    bucket.sessions++;
    bucket.listeningSeconds += seconds;
    if (session.cardId) {
      const card = this.card(bucket, session.cardId);
      card.plays++;
      card.seconds += seconds;
    }
    this.sessions.set(session.id, {
      deviceId: session.deviceId,
      day,
      ...(session.cardId ? { cardId: session.cardId } : {}),
      seconds,
      open: session.completedAt === undefined,
    });
  }

  /** Ids of every device with data. */
  devices(): string[] {
    return [...this.byDevice.keys()];
  }

  deviceTotals(range: Range, visible: ReadonlySet<string> | undefined, live: LiveExtra): DeviceTotals[] {
    const result: DeviceTotals[] = [];
    for (const [deviceId, days] of this.byDevice) {
      if (visible && !visible.has(deviceId)) continue;
      const totals: DeviceTotals = { deviceId, listeningSeconds: 0, sessions: 0, events: 0, eventsByType: {} };
      for (const [day, bucket] of days) {
        if (day < range.fromDay || day > range.toDay) continue;
        totals.listeningSeconds += bucket.listeningSeconds;
        totals.sessions += bucket.sessions;
        totals.events += bucket.events;
        for (const [type, count] of bucket.eventsByType) totals.eventsByType[type] = (totals.eventsByType[type] ?? 0) + count;
        if (bucket.events + bucket.sessions > 0 && (!totals.lastActiveDay || day > totals.lastActiveDay)) totals.lastActiveDay = day;
      }
      totals.listeningSeconds += this.openExtra(range, (s) => s.deviceId === deviceId, live);
      if (totals.events + totals.sessions > 0) result.push({ ...totals, listeningSeconds: round(totals.listeningSeconds) });
    }
    return result;
  }

  content(range: Range, visible: ReadonlySet<string> | undefined, live: LiveExtra): ContentTotals[] {
    const cards = new Map<string, { plays: number; seconds: number; devices: Set<string> }>();
    for (const [deviceId, days] of this.byDevice) {
      if (visible && !visible.has(deviceId)) continue;
      for (const [day, bucket] of days) {
        if (day < range.fromDay || day > range.toDay) continue;
        for (const [cardId, card] of bucket.cards) {
          const entry = cards.get(cardId) ?? { plays: 0, seconds: 0, devices: new Set<string>() };
          entry.plays += card.plays;
          entry.seconds += card.seconds;
          entry.devices.add(deviceId);
          cards.set(cardId, entry);
        }
      }
    }
    for (const [sessionId, session] of this.sessions) {
      if (!session.open || !session.cardId || !inRange(session, range, visible)) continue;
      const entry = cards.get(session.cardId);
      if (entry) entry.seconds += live(session.deviceId, sessionId, session.seconds);
    }
    return [...cards.entries()]
      .map(([cardId, entry]) => ({ cardId, plays: entry.plays, listeningSeconds: round(entry.seconds), devices: entry.devices.size }))
      .sort((a, b) => b.plays - a.plays || b.listeningSeconds - a.listeningSeconds || a.cardId.localeCompare(b.cardId));
  }

  days(range: Range, visible: ReadonlySet<string> | undefined, live: LiveExtra): DayTotals[] {
    const days = new Map<string, DayTotals>();
    for (const [deviceId, buckets] of this.byDevice) {
      if (visible && !visible.has(deviceId)) continue;
      for (const [day, bucket] of buckets) {
        if (day < range.fromDay || day > range.toDay) continue;
        const entry = days.get(day) ?? { date: day, listeningSeconds: 0, sessions: 0, events: 0 };
        entry.listeningSeconds += bucket.listeningSeconds;
        entry.sessions += bucket.sessions;
        entry.events += bucket.events;
        days.set(day, entry);
      }
    }
    for (const [sessionId, session] of this.sessions) {
      if (!session.open || !inRange(session, range, visible)) continue;
      const entry = days.get(session.day);
      if (entry) entry.listeningSeconds += live(session.deviceId, sessionId, session.seconds);
    }
    return [...days.values()].map((d) => ({ ...d, listeningSeconds: round(d.listeningSeconds) })).sort((a, b) => a.date.localeCompare(b.date));
  }

  private openExtra(range: Range, match: (s: SessionContribution) => boolean, live: LiveExtra): number {
    let extra = 0;
    for (const [sessionId, session] of this.sessions) {
      if (session.open && match(session) && session.day >= range.fromDay && session.day <= range.toDay) {
        extra += live(session.deviceId, sessionId, session.seconds);
      }
    }
    return extra;
  }

  private bucket(deviceId: string, day: string): DayBucket {
    let days = this.byDevice.get(deviceId);
    if (!days) {
      days = new Map();
      this.byDevice.set(deviceId, days);
    }
    let bucket = days.get(day);
    if (!bucket) {
      bucket = { listeningSeconds: 0, sessions: 0, events: 0, eventsByType: new Map(), cards: new Map() };
      days.set(day, bucket);
    }
    return bucket;
  }

  private card(bucket: DayBucket, cardId: string): { plays: number; seconds: number } {
    let card = bucket.cards.get(cardId);
    if (!card) {
      card = { plays: 0, seconds: 0 };
      bucket.cards.set(cardId, card);
    }
    return card;
  }
}

function inRange(session: SessionContribution, range: Range, visible: ReadonlySet<string> | undefined): boolean {
  return session.day >= range.fromDay && session.day <= range.toDay && (!visible || visible.has(session.deviceId));
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
