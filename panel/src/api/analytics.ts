import { auth } from '../state/auth-store';

/** One UTC day of `GET /api/analytics/overview` (server/analytics/rollups.ts DayTotals). */
export interface AnalyticsDay {
  date: string;
  listeningSeconds: number;
  sessions: number;
  events: number;
}

/** `GET /api/analytics/overview?from=&to=` (the fields the panel reads). */
export interface AnalyticsOverview {
  from: string;
  to: string;
  activeDevices: number;
  listeningSeconds: number;
  sessions: number;
  plays: number;
  events: number;
  eventsByType: Record<string, number>;
  days: AnalyticsDay[];
}

/** One player's totals in `GET /api/analytics/devices` (server/analytics/rollups.ts DeviceTotals plus its name). */
export interface AnalyticsDeviceTotals {
  deviceId: string;
  name: string;
  listeningSeconds: number;
  sessions: number;
  events: number;
  eventsByType: Record<string, number>;
  lastActiveDay?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** YYYY-MM-DD of a UTC day (the analytics API counts days in UTC). */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The last `count` UTC days up to and including today's, oldest first. */
export function lastDays(count: number, now = new Date()): string[] {
  const days: string[] = [];
  for (let i = count - 1; i >= 0; i--) days.push(utcDay(new Date(now.getTime() - i * DAY_MS)));
  return days;
}

const range = (from: string, to: string): string => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

/** Today's (UTC) overview across every player the user sees. */
export function todayOverview(now = new Date()): Promise<AnalyticsOverview> {
  const today = utcDay(now);
  return auth.json<AnalyticsOverview>(`/api/analytics/overview?${range(today, today)}`);
}

/**
 * Listening seconds per UTC day for one player over the last `count` days, oldest first, every day present (0 when idle).
 * One `GET /api/analytics/devices?from=day&to=day` per day (the overview's `days` sum every player; the rollups are per player per day).
 */
export async function deviceListeningByDay(deviceId: string, count = 7, now = new Date()): Promise<AnalyticsDay[]> {
  return Promise.all(lastDays(count, now).map(async (date) => {
    const answer = await auth.json<{ devices: AnalyticsDeviceTotals[] }>(`/api/analytics/devices?${range(date, date)}`);
    const totals = answer.devices.find((device) => device.deviceId === deviceId);
    return { date, listeningSeconds: totals?.listeningSeconds ?? 0, sessions: totals?.sessions ?? 0, events: totals?.events ?? 0 };
  }));
}
