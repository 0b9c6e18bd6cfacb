/** The home broker's topic scheme (DESIGN.md section 5). */
export const DEFAULT_TOPIC_PREFIX = 'yoto';
export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';

/** Names under yoto/ that are not players. */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(['broadcast', 'admin']);

export interface BrokerTopics {
  status(deviceId: string): string;
  playback(deviceId: string): string;
  events(deviceId: string): string;
  telemetry(deviceId: string): string;
  commands(deviceId: string): string;
  /** Subscription filter for every player's commands. */
  allCommands: string;
  /** A player's own announcement topic: the request JSON, or plain text to say. */
  announce(deviceId: string): string;
  /** Subscription filter for every player's announcement topic. */
  allAnnounce: string;
  announcements: string;
  /** Answers to announcements. */
  broadcastEvents: string;
  discovery: string;
  management: string;
  /** Answers to management requests. */
  adminEvents: string;
  /** The player id of a `{prefix}/{id}/commands` topic, or undefined. */
  deviceOfCommandTopic(topic: string): string | undefined;
  /** The player id of a `{prefix}/{id}/announce` topic, or undefined. */
  deviceOfAnnounceTopic(topic: string): string | undefined;
}

export function brokerTopics(prefix: string = DEFAULT_TOPIC_PREFIX): BrokerTopics {
  return {
    status: (id) => `${prefix}/${id}/status`,
    playback: (id) => `${prefix}/${id}/playback`,
    events: (id) => `${prefix}/${id}/events`,
    telemetry: (id) => `${prefix}/${id}/telemetry`,
    commands: (id) => `${prefix}/${id}/commands`,
    allCommands: `${prefix}/+/commands`,
    announce: (id) => `${prefix}/${id}/announce`,
    allAnnounce: `${prefix}/+/announce`,
    announcements: `${prefix}/broadcast/announcements`,
    broadcastEvents: `${prefix}/broadcast/events`,
    discovery: `${prefix}/admin/discovery`,
    management: `${prefix}/admin/management`,
    adminEvents: `${prefix}/admin/events`,
    deviceOfCommandTopic: (topic) => deviceOfTopic(prefix, topic, 'commands'),
    deviceOfAnnounceTopic: (topic) => deviceOfTopic(prefix, topic, 'announce'),
  };
}

/** The player id of a `{prefix}/{id}/{leaf}` topic, or undefined. */
function deviceOfTopic(prefix: string, topic: string, leaf: string): string | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const parts = topic.slice(prefix.length + 1).split('/');
  if (parts.length !== 2 || parts[1] !== leaf) return undefined;
  const deviceId = parts[0];
  return deviceId && !RESERVED_SEGMENTS.has(deviceId) ? deviceId : undefined;
}

/** Player ids that can be a topic level and a Home Assistant node id. */
export function isTopicSafeId(deviceId: string): boolean {
  return /^[A-Za-z0-9_-]{1,128}$/.test(deviceId) && !RESERVED_SEGMENTS.has(deviceId);
}
