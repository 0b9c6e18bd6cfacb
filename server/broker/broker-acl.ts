import type { RequestUser } from '../http/request-user';

/**
 * Who a client of the embedded broker is. Decided once, at CONNECT:
 * - `hub`: the hub's own home-broker client (a password generated at each start, never stored);
 * - `adapter`: the Yoto side of the broker: the hub's cloud adapter (a Yoto-form login carrying a
 *   live virtual-cloud token) and the virtual players (a password generated at each start);
 * - `user`: a hub account (user name = the account's email, password = its password);
 * - `anonymous`: no user name, when anonymous clients are allowed at all.
 */
export type BrokerIdentity =
  | { kind: 'hub' }
  | { kind: 'adapter' }
  | { kind: 'user'; userId: string }
  | { kind: 'anonymous' };

export interface BrokerAclOptions {
  /** The home topics' prefix (`yoto`). */
  topicPrefix: string;
  /** Home Assistant's discovery prefix (`homeassistant`). */
  discoveryPrefix: string;
  /** The one ownership rule for players (`mayUseDevice`). */
  mayUseDevice(user: RequestUser, deviceId: string): boolean;
  /** The account as it is now: a deleted or disabled user (undefined) gets nothing more, a demoted one a member's rights. */
  currentUser(userId: string): RequestUser | undefined;
}

/** Topic levels under the prefix that are not players. */
const NOT_PLAYERS = new Set(['broadcast', 'admin']);

/**
 * The embedded broker's access rules (README, "Home broker security"):
 * - `device/...` (the Yoto protocol): only the adapter publishes; adapter and admins receive.
 * - `yoto/<id>/status|playback|events|telemetry`, `yoto/broadcast/events`, `yoto/admin/events`
 *   and discovery: only the hub publishes.
 * - `yoto/<id>/commands`, `yoto/<id>/announce`, `yoto/<id>/settings/set` and `yoto/<id>/settings/alarms/<n>/set`: the hub, admins, and a member for their own players.
 *   `yoto/broadcast/announcements`, `yoto/admin/...`: admins.
 * - Receiving under `yoto/` and discovery: the hub and admins everything; a member only their
 *   players' topics; the adapter and anonymous clients nothing.
 * - `$SYS/...`: the hub and admins receive, nobody publishes.
 * - Every other topic (the house's own traffic) is open to every client, anonymous ones included.
 */
export class BrokerAcl {
  constructor(private readonly options: BrokerAclOptions) {}

  mayPublish(identity: BrokerIdentity, topic: string): boolean {
    // Every player message comes through here (and mayReceive): the first level is read without splitting the topic.
    const root = rootOf(topic);
    if (topic.startsWith('$')) return false;
    if (root === 'device') return identity.kind === 'adapter';
    if (root === this.options.discoveryPrefix) return identity.kind === 'hub';
    if (root !== this.options.topicPrefix) return true;
    if (identity.kind === 'hub') return true;
    const levels = topic.split('/');
    const user = this.userOf(identity);
    if (!user) return false;
    const [, segment, leaf] = levels;
    if (segment === undefined || segment === '') return false;
    const isAdmin = user.role === 'admin';
    if (segment === 'broadcast') return levels.length === 3 && isAdmin && leaf === 'announcements';
    if (segment === 'admin') return levels.length === 3 && isAdmin && leaf === 'management';
    // What the house may ask of a player it may use: commands, announcements, and settings changes (`settings/set`, `settings/alarms/<n>/set`).
    const request = levels.slice(2).join('/');
    const asks = request === 'commands' || request === 'announce' || request === 'settings/set' || /^settings\/alarms\/\d{1,2}\/set$/.test(request);
    return asks && this.options.mayUseDevice(user, segment);
  }

  mayReceive(identity: BrokerIdentity, topic: string): boolean {
    if (identity.kind === 'hub') return true;
    const user = this.userOf(identity);
    const isAdmin = user?.role === 'admin';
    const root = rootOf(topic);
    if (topic.startsWith('$')) return isAdmin;
    if (root === 'device') return identity.kind === 'adapter' || isAdmin;
    const levels = topic.split('/');
    let deviceId: string | undefined;
    if (root === this.options.topicPrefix) deviceId = levels[1];
    else if (root === this.options.discoveryPrefix) deviceId = levels[2];
    else return true;
    if (!user) return false;
    if (isAdmin) return true;
    return deviceId !== undefined && !NOT_PLAYERS.has(deviceId) && this.options.mayUseDevice(user, deviceId);
  }

  private userOf(identity: BrokerIdentity): RequestUser | undefined {
    return identity.kind === 'user' ? this.options.currentUser(identity.userId) : undefined;
  }
}

/** A topic's first level. */
function rootOf(topic: string): string {
  const end = topic.indexOf('/');
  return end < 0 ? topic : topic.slice(0, end);
}

/** The hub's client ids (its home-broker client and its cloud adapter) start with this: only those identities may connect with one. */
export const HUB_CLIENT_ID_PREFIX = 'yoto-hub-';
