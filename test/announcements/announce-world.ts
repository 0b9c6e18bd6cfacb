import { expect } from 'chai';
import type { Hub, HubDependencies } from '../../server/hub';
import type { Announcement } from '../../server/types/schemas';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { keepMode } from '../helpers/day-mode';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, onboardAdmin, upload, type SignIn } from '../hub/api-world';

export const KIDS = 'vkids0bedroom0yoto0mini0';
export const LIVING_ROOM = 'vliving0room0yoto0player';

export type Json = Record<string, unknown>;

/**
 * The composed hub (startTestHub, as `npm start` builds it) with its admin signed in, the house
 * watching every yoto/ and homeassistant/ topic as that admin, and Start.mp3 (3.7 s) in the library
 * as a short announcement.
 */
export class AnnounceWorld {
  private constructor(
    readonly hub: Hub,
    readonly admin: SignIn,
    readonly house: BrokerWatcher,
    readonly shortFile: { id: string; title: string },
  ) {}

  static async start(deps: Pick<HubDependencies, 'clock'> = {}, dayPlayers: string[] = [KIDS, LIVING_ROOM]): Promise<AnnounceWorld> {
    const hub = await startTestHub({}, deps);
    try {
      const admin = await onboardAdmin(hub);
      const house = await BrokerWatcher.connect(hub.broker.url, ['yoto/#', 'homeassistant/#'], { username: 'admin@example.org', password: 'correct horse battery' });
      for (const deviceId of dayPlayers) {
        await house.nextOn(`yoto/${deviceId}/status`, (s) => s['online'] === true);
        // Night mode refuses normal announcements (quiet hours): these players stay in day mode whatever the time of day.
        await keepMode(hub.url, admin.accessToken, house, deviceId, 'day');
      }
      const shortFile = await upload(hub, admin.accessToken, 'dinner.mp3');
      return new AnnounceWorld(hub, admin, house, shortFile);
    } catch (error) {
      await stopTestHub(hub);
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.house.close();
    await stopTestHub(this.hub);
  }

  /** POST /api/announcements as the admin (or `token`): expects 202 and returns the announcement. */
  async announce(body: Json, token = this.admin.accessToken): Promise<Announcement> {
    const answer = await call(this.hub, 'POST', '/api/announcements', token, body);
    expect(answer.status, answer.text).to.equal(202);
    return answer.json as Announcement;
  }

  /** A REST command to a player (the yoto/<id>/commands JSON) as the admin. */
  async command(deviceId: string, body: Json): Promise<void> {
    const answer = await call(this.hub, 'POST', `/api/devices/${deviceId}/command`, this.admin.accessToken, body);
    expect(answer.status, answer.text).to.equal(200);
  }

  /** The announcement event `type` of announcement `id` on the player's events topic, from message index `from`. */
  event(deviceId: string, type: 'announcement_started' | 'announcement_finished' | 'announcement_failed', id: string, from = 0): Promise<Json> {
    return this.house.nextOn(`yoto/${deviceId}/events`, (e) => e['type'] === type && e['announcement_id'] === id, from);
  }

  playback(deviceId: string, accept: (p: Json) => boolean, from = this.house.mark): Promise<Json> {
    return this.house.nextOn(`yoto/${deviceId}/playback`, accept, from);
  }

  /** The player's latest retained playback as the house sees it. */
  latestPlayback(deviceId: string): Json {
    const text = this.house.latest(`yoto/${deviceId}/playback`).get(`yoto/${deviceId}/playback`);
    return text === undefined ? {} : (JSON.parse(text) as Json);
  }

  /** Every playback message of the player from index `from` on. */
  playbackSince(deviceId: string, from: number): Json[] {
    return this.house.messages.slice(from).filter((m) => m.topic === `yoto/${deviceId}/playback` && m.text !== '').map((m) => JSON.parse(m.text) as Json);
  }

  async record(id: string): Promise<Announcement> {
    const answer = await call(this.hub, 'GET', `/api/announcements/${id}`, this.admin.accessToken);
    expect(answer.status, answer.text).to.equal(200);
    return answer.json as Announcement;
  }

  /** The virtual cloud's control API (what a person does to a player: power, buttons). */
  async control(path: string): Promise<void> {
    const answer = await fetch(`${this.hub.cloud.virtualCloud!.url}/virtual/devices/${path}`, { method: 'POST' });
    expect(answer.status, await answer.text()).to.equal(200);
  }
}

/** What the virtual player itself says it is doing (GET /virtual/devices/:id of the virtual cloud's control API). */
export interface PlayerView {
  cardId: string;
  chapterKey?: string;
  trackKey?: string;
  playbackStatus: 'playing' | 'paused' | 'stopped' | 'loading';
  position: number;
  volumePercent: number;
}

export async function playerView(hub: Hub, deviceId: string): Promise<PlayerView> {
  const answer = await fetch(`${hub.cloud.virtualCloud!.url}/virtual/devices/${deviceId}`);
  expect(answer.status).to.equal(200);
  const body = (await answer.json()) as PlayerView | { device: PlayerView };
  return 'device' in body ? body.device : body;
}
