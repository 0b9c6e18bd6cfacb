/**
 * The Yoto player MQTT protocol (DESIGN.md section 4), shared by the cloud
 * adapter (which listens and commands) and the virtual players (which publish
 * and obey). Shapes follow real captured traffic in
 * shared/fixtures/yoto-mqtt-captured.jsonl and the maintained client
 * libraries. Both sides import from here so they cannot drift apart.
 */

/** Topics a player publishes on. */
export const deviceTopics = {
  /** Documented playback events; partial: only changed fields arrive. */
  events: (deviceId: string) => `device/${deviceId}/data/events`,
  /** Documented status. */
  status: (deviceId: string) => `device/${deviceId}/data/status`,
  /** Legacy, undocumented full status: the only source of `shutDown`. */
  legacyStatus: (deviceId: string) => `device/${deviceId}/status`,
  /** Command acknowledgements. */
  response: (deviceId: string) => `device/${deviceId}/response`,
  /** Undocumented duplicate of data/events that real players also publish. */
  legacyEvents: (deviceId: string) => `device/${deviceId}/events`,
  /** Extended status (statusVersion 3), the answer to `command/status`. */
  fullStatus: (deviceId: string) => `device/${deviceId}/status/full`,
  /** `{"state": "online" | "offline", "ts": ms}`; "offline" is the broker's last will, sent at once when a player drops off. */
  presence: (deviceId: string) => `device/${deviceId}/presence`,
} as const;

export type DeviceTopicKind = keyof typeof deviceTopics;

/** Parses `device/{id}/...` into the device id and the kind of message, or undefined for other topics. */
export function parseDeviceTopic(topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  // Every player message comes through here: read in place, without splitting the topic.
  if (!topic.startsWith('device/')) return undefined;
  const end = topic.indexOf('/', 7);
  if (end <= 7) return undefined;
  const kind = DEVICE_TOPIC_KINDS.get(topic.slice(end + 1));
  return kind === undefined ? undefined : { deviceId: topic.slice(7, end), kind };
}

/** The topic suffix after `device/{id}/` of each kind of message, read off deviceTopics (one list of the topics). */
const DEVICE_TOPIC_KINDS: ReadonlyMap<string, DeviceTopicKind> = new Map(
  (Object.keys(deviceTopics) as DeviceTopicKind[]).map((kind) => [deviceTopics[kind]('').slice('device//'.length), kind]),
);

/** The commands a player obeys, by their topic suffix under `device/{id}/command/`. */
export const COMMANDS = [
  'events/request',
  'status/request',
  /** Extended status: answered on `status/full`; the body carries a `requestId`. */
  'status',
  'volume/set',
  'ambients/set',
  'sleep-timer/set',
  'reboot',
  'card/start',
  'card/stop',
  'card/pause',
  'card/resume',
  'display/preview',
  'bluetooth/on',
  'bluetooth/off',
] as const;

export type CommandName = (typeof COMMANDS)[number];

export const commandTopic = (deviceId: string, command: CommandName): string => `device/${deviceId}/command/${command}`;

/** Parses `device/{id}/command/...`, or undefined for other topics and unknown commands. */
export function parseCommandTopic(topic: string): { deviceId: string; command: CommandName } | undefined {
  const match = /^device\/([^/]+)\/command\/(.+)$/.exec(topic);
  if (!match) return undefined;
  const command = match[2] as CommandName;
  return COMMANDS.includes(command) ? { deviceId: match[1]!, command } : undefined;
}

/** Command payloads, by command. Commands with no payload take an empty body or a tracking string. */
export interface CommandPayloads {
  'events/request': Record<string, never> | undefined;
  'status/request': Record<string, never> | undefined;
  status: { requestId: string };
  /** Percent 0..100 (while events report the 0..16 hardware scale). */
  'volume/set': { volume: number };
  'ambients/set': { r: number; g: number; b: number };
  /** 0 cancels the timer. */
  'sleep-timer/set': { seconds: number };
  reboot: Record<string, never> | undefined;
  'card/start': CardStartPayload;
  'card/stop': Record<string, never> | undefined;
  'card/pause': Record<string, never> | undefined;
  'card/resume': Record<string, never> | undefined;
  /** An icon on the screen for `timeout` seconds (shown only while the screen is awake). */
  'display/preview': { uri: string; timeout: number; animated: 0 | 1 };
  'bluetooth/on': { action?: string; mode?: boolean | string; name?: string; mac?: string } | undefined;
  'bluetooth/off': Record<string, never> | undefined;
}

export interface CardStartPayload {
  /** `https://yoto.io/<cardId>` */
  uri: string;
  /** Keep the card's zero padding: "01", not "1". */
  chapterKey?: string;
  trackKey?: string;
  secondsIn?: number;
  cutOff?: number;
  anyButtonStop?: boolean;
}

export const cardUri = (cardId: string): string => `https://yoto.io/${cardId}`;

export function cardIdFromUri(uri: string): string | undefined {
  const match = /^https:\/\/yoto\.io\/([A-Za-z0-9]+)$/.exec(uri);
  return match ? match[1] : undefined;
}

export type PlaybackStatus = 'playing' | 'paused' | 'stopped' | 'loading';

/** `device/{id}/data/events`: every field optional, only what changed is sent. */
export interface YotoEventsMessage {
  repeatAll?: boolean;
  streaming?: boolean;
  /** 0..16 hardware scale */
  volume?: number;
  /** 0..16 hardware scale: the current maximum */
  volumeMax?: number;
  playbackWait?: boolean;
  sleepTimerActive?: boolean;
  sleepTimerSeconds?: number;
  /** Unix seconds */
  eventUtc?: number;
  /** Seconds */
  trackLength?: number;
  /** Seconds */
  position?: number;
  /** "none" when idle */
  cardId?: string;
  /** e.g. "card", "remote", "MQTT" */
  source?: string;
  cardUpdatedAt?: string;
  chapterTitle?: string;
  chapterKey?: string;
  trackTitle?: string;
  trackKey?: string;
  playbackStatus?: PlaybackStatus | string;
  /** Echoes the request that caused the message, when one did. */
  requestId?: string;
}

/** `device/{id}/presence` */
export interface YotoPresenceMessage {
  state: 'online' | 'offline';
  /** ms since the epoch */
  ts?: number;
}

/** `device/{id}/data/status` */
export interface YotoStatusMessage {
  status: YotoStatus;
}

export interface YotoStatus {
  statusVersion?: number;
  fwVersion?: string;
  productType?: string;
  batteryLevel?: number;
  als?: number;
  /** KiB */
  freeDisk?: number;
  shutdownTimeout?: number;
  dbatTimeout?: number;
  /** 0/1 on real players */
  charging?: number | boolean;
  activeCard?: string;
  /** 0 none, 1 physical, 2 remote */
  cardInserted?: number;
  playingStatus?: number;
  headphones?: number | boolean;
  dnowBrightness?: number;
  dayBright?: number;
  nightBright?: number;
  bluetoothHp?: number | boolean;
  /** Percent: the system (maximum) volume */
  volume?: number;
  /** Percent: the user's volume */
  userVolume?: number;
  timeFormat?: string;
  nightlightMode?: string;
  temp?: string;
  day?: number;
  [field: string]: unknown;
}

/** `device/{id}/status`: the legacy topic; some messages carry only a few diagnostics. */
export interface YotoLegacyStatusMessage {
  status: YotoStatus & {
    /** "nA" while running; anything else means shutting down. */
    shutDown?: string;
    /** KiB */
    totalDisk?: number;
    wifiStrength?: number;
    ssid?: string;
    battery?: number;
    batteryLevelRaw?: number;
    batteryTemp?: number;
    upTime?: number;
    utcTime?: number;
    aliveTime?: number;
    accelTemp?: number;
    free?: number;
    powerSrc?: number;
  };
}

/** `device/{id}/response`: `{status: {<resource>: "OK" | "FAIL", req_body}}` */
export interface YotoResponseMessage {
  status: Record<string, string> & { req_body?: string };
}

/** Hardware volume scale of events: 0..16. */
export const HARDWARE_VOLUME_MAX = 16;

export function percentToHardwareVolume(percent: number): number {
  return Math.round((Math.min(100, Math.max(0, percent)) / 100) * HARDWARE_VOLUME_MAX);
}

export function hardwareVolumeToPercent(level: number): number {
  return Math.round((Math.min(HARDWARE_VOLUME_MAX, Math.max(0, level)) / HARDWARE_VOLUME_MAX) * 100);
}

/** The MQTT username the AWS IoT custom authorizer expects; the password is the access token. */
export function mqttUsername(deviceIdOrName: string): string {
  return `${deviceIdOrName}?x-amz-customauthorizer-name=PublicJWTAuthorizer`;
}

/** True for an MQTT username in the form the Yoto cloud's custom authorizer expects (see mqttUsername). */
export function isYotoAdapterLogin(username: string | undefined): boolean {
  return username !== undefined && username.endsWith('?x-amz-customauthorizer-name=PublicJWTAuthorizer');
}

export const REAL_CLOUD = {
  apiUrl: 'https://api.yotoplay.com',
  authUrl: 'https://login.yotoplay.com',
  audience: 'https://api.yotoplay.com',
  /** yoto.dev's current docs connect MQTT over WebSocket on the /mqtt path. */
  mqttUrl: 'wss://aqrphjqbp3u2z-ats.iot.eu-west-2.amazonaws.com/mqtt',
} as const;

/** AWS IoT refuses a SUBSCRIBE carrying more topic filters than this (and closes the connection). */
export const MAX_FILTERS_PER_SUBSCRIBE = 8;

/** How often the adapter asks each player for its status (as Home Assistant does), so the model stays fresh when events stop. */
export const STATUS_REQUEST_MS = 60 * 1000;

/** The cloud stops pushing events ~5 minutes after the last events/request; re-request every 4. */
export const EVENTS_REREQUEST_MS = 4 * 60 * 1000;

/**
 * The key a player uses in its `response` ack for each command, e.g.
 * `{"status":{"card-play":"FAIL","req_body":"..."}}`. `events` and `card-play`
 * are seen in captured traffic; the others follow the firmware's naming. The
 * adapter matches acks by `req_body` first, so a different key on a real
 * player still confirms the command.
 */
export const RESPONSE_KEYS: Record<CommandName, string> = {
  'events/request': 'events',
  'status/request': 'status',
  status: 'status',
  'volume/set': 'volume',
  'ambients/set': 'ambients',
  'sleep-timer/set': 'sleep-timer',
  reboot: 'reboot',
  'card/start': 'card-play',
  'card/stop': 'card-stop',
  'card/pause': 'card-pause',
  'card/resume': 'card-resume',
  'display/preview': 'display-preview',
  'bluetooth/on': 'bluetooth',
  'bluetooth/off': 'bluetooth',
};

export type ResponseResult = 'OK' | 'FAIL';

/** The cloud pushes `data/events` for this long after the last `events/request`. */
export const EVENTS_PUSH_WINDOW_MS = 5 * 60 * 1000;

/** Players publish `data/status` and the legacy diagnostics this often on their own. */
export const STATUS_PUSH_INTERVAL_MS = 5 * 60 * 1000;

/** `shutDown` in the legacy status while the player runs. */
export const SHUTDOWN_RUNNING = 'nA';
