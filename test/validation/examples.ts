/**
 * One valid value per schema, each declared with its generated type: if a schema and its type
 * drift apart, either this file stops compiling or the test that validates it fails. Other tests
 * may reuse these as fixtures (copy before changing them).
 */
import type {
  ApiError,
  StoryCard,
  AudioFile,
  Announcement,
  BrokerAnnouncementMessage,
  BrokerCommandMessage,
  BrokerDiscoveryMessage,
  BrokerEventMessage,
  BrokerManagementMessage,
  BrokerPlaybackMessage,
  BrokerStatusMessage,
  BrokerTelemetryMessage,
  CyoaStory,
  Device,
  DeviceRegistration,
  DeviceUpdate,
  DeviceEvent,
  HubConfig,
  PlaybackSession,
  PlayerAlarmInput,
  PlayerSettingsChange,
  PlayerSettingsView,
  SchemaTypes,
  Script,
  Session,
  User,
  WsClientMessage,
  WsServerMessage,
} from '../../server/types/schemas';

const at = '2026-01-10T08:15:32Z';

export const user: User = {
  id: 'u-1',
  email: 'parent@example.com',
  name: 'Parent',
  passwordHash: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA',
  role: 'admin',
  createdAt: at,
  updatedAt: at,
};

export const session: Session = {
  id: '6d1f0a52-0000-4000-8000-000000000001',
  tokenHash: 'a3f1c9e2b7d44f08a1e5c3b9d2f6e8a0b4c7d1e3f5a2b6c8d0e9f1a3b5c7d9e1',
  familyId: '6d1f0a52-0000-4000-8000-0000000000f1',
  userId: 'u-1',
  used: false,
  revoked: false,
  createdAt: at,
  expiresAt: '2026-02-09T08:15:32Z',
};

export const device: Device = {
  id: '3f2b8c1e-0000-4000-8000-000000000001',
  userId: 'u-1',
  deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS',
  name: 'Kids Bedroom',
  source: 'yoto',
  model: 'mini',
  status: 'connected',
  lastSeen: at,
  metadata: { deviceFamily: 'mini', firmware: 'v2.23.2' },
  createdAt: at,
  updatedAt: at,
};

export const deviceRegistration: DeviceRegistration = { deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS', name: 'Kids Bedroom', room: 'Bedroom' };

export const deviceUpdate: DeviceUpdate = { name: 'Bedroom Mini', room: null, metadata: { colour: 'blue' } };

export const audioFile: AudioFile = {
  id: 'a-1',
  userId: 'u-1',
  title: 'The Dragon Wakes',
  fileName: 'a-1.mp3',
  originalName: 'dragon wakes (final).mp3',
  mimeType: 'audio/mpeg',
  fileSize: 1_048_576,
  durationSeconds: 65.3,
  format: 'mp3',
  bitrate: 128_000,
  sampleRate: 24_000,
  codec: 'MPEG 1 Layer 3',
  tags: { artist: 'Yoto', year: '2024', comment: 'any other tag is kept as text' },
  hasCover: false,
  sha256: 'a'.repeat(64),
  createdAt: at,
  updatedAt: at,
};

export const simpleScript: Script = {
  id: 's-1',
  userId: 'u-1',
  name: 'Bedtime story',
  type: 'simple',
  definition: { audioFileId: 'a-1' },
  options: { volume: 30, sleepTimerSeconds: 1800 },
  createdAt: at,
  updatedAt: at,
};

export const playlistScript: Script = {
  id: 's-2',
  userId: 'u-1',
  name: 'Morning songs',
  type: 'playlist',
  definition: {
    tracks: [{ audioFileId: 'a-1', title: 'Wake up', icon: 'yoto:#aUm9i3ex3qqAMYBv-i-O-pYMKuMJGICtR3Vhf289u2Q' }, { audioFileId: 'a-2' }],
  },
  cardId: '5WsQg',
  createdAt: at,
  updatedAt: at,
};

export const cyoaScript: Script = {
  id: 's-3',
  userId: 'u-1',
  name: 'Spy adventure',
  type: 'cyoa',
  definition: { storyId: 'story-1' },
  createdAt: at,
  updatedAt: at,
};

export const cyoaStory: CyoaStory = {
  id: 'story-1',
  userId: 'u-1',
  title: 'The Spy',
  description: 'A very short spy story.',
  startNodeId: 'start',
  nodes: [
    { id: 'start', title: 'Briefing', audioFileId: 'a-1', prompt: 'Left for the car, right for the boat.', position: { x: 0, y: 0 } },
    { id: 'car', title: 'The car chase', position: { x: 200, y: -80 } },
    { id: 'boat', title: 'The boat', icon: 'https://hub.example.com/icons/boat.png', position: { x: 200, y: 80 } },
  ],
  connections: [
    { id: 'c1', from: 'start', to: 'car', choice: 'left' },
    { id: 'c2', from: 'start', to: 'boat', choice: 'right' },
    { id: 'c3', from: 'start', to: 'car', choice: 'default', timeoutSeconds: 30 },
  ],
  expect: [{ name: 'left goes to the car', inputs: ['left'], path: ['start', 'car'] }],
  createdAt: at,
  updatedAt: at,
};

export const deviceEvent: DeviceEvent = {
  id: 'e-1',
  deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS',
  type: 'story_node_entered',
  timestamp: at,
  data: { storyId: 'story-1', nodeId: 'car' },
};

export const playbackSession: PlaybackSession = {
  id: 'p-1',
  deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS',
  scriptId: 's-1',
  audioFileId: 'a-1',
  cardId: '5WsQg',
  startedAt: at,
  completedAt: '2026-01-10T08:16:37.300Z',
  durationPlayed: 65.3,
};

export const hubConfig: HubConfig = {
  dataDir: '/var/lib/yoto-hub',
  http: { host: '0.0.0.0', port: 1881, publicUrl: 'https://yoto.example.com' },
  broker: { url: 'mqtt://192.168.1.10:1883', username: 'yoto', password: 'secret', embedded: { host: '127.0.0.1', port: 1883 } },
  cloud: { mode: 'yoto', clientId: 'my-client-id', virtualHost: '127.0.0.1', virtualPort: 1882, signInPort: 1884 },
  logLevel: 'info',
};

/** The seed's "Status Update" example, with an extra field (extra fields are allowed). */
export const brokerStatus: BrokerStatusMessage = {
  status: 'connected',
  battery: 85,
  firmware: '2.4.1',
  ip: '192.168.1.105',
  charging: false,
  timestamp: at,
  wifi_ssid: 'WeeFee',
};

/** The seed's "Playback Status" example plus the Yoto keys. */
export const brokerPlayback: BrokerPlaybackMessage = {
  state: 'playing',
  script_id: 's-1',
  card_id: '5WsQg',
  title: 'The Dragon Wakes',
  current_track: 3,
  total_tracks: 12,
  chapter_key: '03',
  track_key: '03',
  position: 512,
  duration: 900,
  volume: 60,
  timestamp: at,
};

/** The seed's "Button Press Event" example. */
export const brokerEvent: BrokerEventMessage = { type: 'button_press', button: 1, timestamp: at };

export const brokerTelemetry: BrokerTelemetryMessage = {
  wifi_strength: -26,
  temperature: 21.5,
  free_disk: 25_160_368,
  uptime: 12,
  timestamp: at,
};

/** One of each command. */
export const brokerCommands: BrokerCommandMessage[] = [
  { command: 'play', script_id: 's-1', request_id: 'r-1', timestamp: at },
  { command: 'play', card_id: '5WsQg', chapter_key: '08', track_key: '08', seconds_in: 12.5 },
  { command: 'pause' },
  { command: 'resume' },
  { command: 'stop' },
  { command: 'next' },
  { command: 'previous' },
  { command: 'seek', position: 120 },
  { command: 'volume', volume: 0 },
  { command: 'sleep', seconds: 0 },
  { command: 'nightlight', color: '#ff8800' },
  { command: 'nightlight', color: { r: 255, g: 136, b: 0 } },
  { command: 'nightlight', color: 'off' },
  { command: 'reboot' },
  { command: 'status_request', request_id: 'r-2' },
];

export const brokerAnnouncements: BrokerAnnouncementMessage[] = [
  { audio_file_id: 'a-1', device_ids: ['y2iYT7ItkMRWbuMzTDuGjgmS'], volume: 50 },
  { url: 'https://hub.example.com/stream/chime.mp3' },
  { text: 'Dinner is ready', voice: 'en-gb', language: 'en-GB', chime: true, priority: 'high', repeat: 2, expires_in: 120, request_id: 'dinner' },
  { text: 'Washing is done', chime: 'a-2', priority: 'normal' },
];

export const announcements: Announcement[] = [
  {
    id: 'b7c1d2e3-0000-4000-8000-000000000001',
    request: brokerAnnouncements[2]!,
    source: 'api',
    createdAt: at,
    players: [
      { deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS', status: 'finished', startedAt: at, finishedAt: at, interrupted: 1 },
      { deviceId: 'yLivingRoom0000000000001', status: 'skipped', reason: 'quiet_hours', message: 'Living Room is in night mode', finishedAt: at },
    ],
  },
];

export const brokerDiscovery: BrokerDiscoveryMessage = {
  devices: [{ device_id: 'y2iYT7ItkMRWbuMzTDuGjgmS', name: 'Kids Bedroom', online: true, model: 'mini' }],
  timestamp: at,
};

export const brokerManagement: BrokerManagementMessage = { action: 'resync_discovery', request_id: 'r-3' };

export const wsClientMessages: WsClientMessage[] = [
  { type: 'subscribe', topic: 'device.y2iYT7ItkMRWbuMzTDuGjgmS' },
  { type: 'subscribe', topic: 'device.*' },
  { type: 'unsubscribe', topic: 'device.*' },
  { type: 'ping' },
  { type: 'options', batch: true },
];

export const apiError: ApiError = {
  error: { code: 'validation_failed', message: 'device is invalid: /name is required', details: [{ path: '/name', message: 'is required' }] },
};

export const wsServerMessages: WsServerMessage[] = [
  { type: 'device.status', deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS', data: brokerStatus },
  { type: 'device.event', deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS', event: brokerEvent },
  { type: 'device.playback', deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS', data: brokerPlayback },
  { type: 'device.removed', deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS' },
  { type: 'pong' },
  { type: 'error', error: apiError.error },
  { type: 'subscribed', topic: 'device.*' },
  { type: 'unsubscribed', topic: 'device.y2iYT7ItkMRWbuMzTDuGjgmS' },
];

/** GET /api/stories/:id/card of a two-passage story: its interactive card and the validator's findings. */
export const storyCard: StoryCard = {
  storyId: 'a3c7e9f1-2b4d-4e6f-8a0c-1e3f5a7b9d2c',
  deployable: true,
  findings: [{ severity: 'warning', code: 'one_side_missing', nodeIds: ['start'], message: 'In "Start" only the left button does something; the right button does nothing.' }],
  card: {
    title: 'The owl and the moon',
    metadata: { cover: { imageL: 'https://cdn.yoto.io/myo-cover/star_green.gif' }, media: { hasStreams: true } },
    content: {
      playbackType: 'interactive',
      config: { autoadvance: 'none', disableTrackNav: true, disableChapterNav: true, resumeTimeout: 2592000 },
      chapters: [
        { key: '01', title: 'Start', tracks: [{ key: '01', title: 'Start', type: 'stream', format: 'mp3', trackUrl: 'https://hub.example.net/stream/audio/owl?t=abc', events: { onLhb: { cmd: 'goto', params: { chapterKey: '02', trackKey: '02' } }, onEnd: { cmd: 'stop' } } }] },
        { key: '02', title: 'The moon', tracks: [{ key: '02', title: 'The moon', type: 'stream', format: 'mp3', trackUrl: 'https://hub.example.net/stream/audio/moon?t=abc', events: { onEnd: { cmd: 'stop' } } }] },
      ],
    },
  },
};
export const playerSettings: PlayerSettingsView = {
  deviceId: 'y2iYT7ItkMRWbuMzTDuGjgmS',
  dayTime: '07:00',
  nightTime: '19:30',
  dayMaxVolume: 16,
  nightMaxVolume: 10,
  dayBrightness: 'auto',
  nightBrightness: 20,
  dayNightLight: '#40bfd9',
  nightNightLight: 'off',
  clockFace: 'digital-sun',
  hourFormat: 12,
  shutdownTimeout: 3600,
  headphonesVolumeLimited: false,
  bluetoothEnabled: true,
  alarms: [{ id: 0, time: '07:15', days: '1111100', soundId: '', volume: 8, enabled: true }],
  capabilities: { nightLight: true, lightSensor: true, nightLightPresets: { 'Sky Blue': '#40bfd9' } },
  updatedAt: '2026-01-10T08:15:32Z',
};
export const playerSettingsChange: PlayerSettingsChange = { nightMaxVolume: 5, dayNightLight: 'Sky Blue' };
export const playerAlarm: PlayerAlarmInput = { time: '06:45', days: '0000011', enabled: true };

/** Typed as SchemaTypes, so a schema without an example does not compile. */
export const examples: SchemaTypes = {
  user,
  device,
  'device-registration': deviceRegistration,
  'device-update': deviceUpdate,
  'audio-file': audioFile,
  script: playlistScript,
  'cyoa-story': cyoaStory,
  'story-card': storyCard,
  event: deviceEvent,
  'playback-session': playbackSession,
  session,
  'hub-config': hubConfig,
  'broker-status': brokerStatus,
  'broker-playback': brokerPlayback,
  'broker-event': brokerEvent,
  'broker-telemetry': brokerTelemetry,
  'broker-command': brokerCommands[0],
  'broker-announcement': brokerAnnouncements[0],
  announcement: announcements[0]!,
  'broker-discovery': brokerDiscovery,
  'broker-management': brokerManagement,
  'ws-client-message': wsClientMessages[0],
  'ws-server-message': wsServerMessages[0],
  'api-error': apiError,
  'player-settings': playerSettings,
  'player-settings-change': playerSettingsChange,
  'player-alarm': playerAlarm,
};

/** Every example of a schema: the one in `examples` plus the other variants of a union. */
export const allExamples: { [K in keyof SchemaTypes]: SchemaTypes[K][] } = {
  user: [user],
  device: [device],
  'device-registration': [deviceRegistration],
  'device-update': [deviceUpdate],
  'audio-file': [audioFile],
  script: [simpleScript, playlistScript, cyoaScript],
  'cyoa-story': [cyoaStory],
  'story-card': [storyCard, { storyId: 'b1', deployable: false, findings: [{ severity: 'error', code: 'missing_audio', nodeIds: ['start'], message: '"Start" has no recording yet: record or choose its audio.' }], card: null, cardError: { code: 'missing_reference', message: 'audio file "" no longer exists' } }],
  event: [deviceEvent],
  'playback-session': [playbackSession],
  session: [session],
  'hub-config': [hubConfig],
  'broker-status': [brokerStatus],
  'broker-playback': [brokerPlayback],
  'broker-event': [brokerEvent],
  'broker-telemetry': [brokerTelemetry],
  'broker-command': brokerCommands,
  'broker-announcement': brokerAnnouncements,
  announcement: announcements,
  'broker-discovery': [brokerDiscovery],
  'broker-management': [brokerManagement],
  'ws-client-message': wsClientMessages,
  'ws-server-message': wsServerMessages,
  'api-error': [apiError],
  'player-settings': [playerSettings],
  'player-settings-change': [playerSettingsChange],
  'player-alarm': [playerAlarm],
};
