import type { Clock as SchedulingClock } from '../mqtt/clock';

/**
 * The time of day, in epoch milliseconds. Token expiry is read from it (never
 * scheduled), so the token code needs only now(); the project's full Clock
 * (server/yoto/mqtt/clock.ts, with ManualClock for tests) fits.
 */
export type Clock = Pick<SchedulingClock, 'now'>;

export const systemClock: Clock = { now: () => Date.now() };
