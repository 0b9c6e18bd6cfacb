import { CARD_SLOTS, type DeviceState } from '../core/device-state';
import { packageVersion } from '../paths';
import { brokerTopics, DEFAULT_DISCOVERY_PREFIX } from './topics';

/**
 * Home Assistant MQTT discovery: one retained config per entity under
 * `<prefix>/<component>/<device id>/<object id>/config`, so a player appears
 * in Home Assistant with no YAML. Every entity is available while the
 * player's status is connected or idle, and commands go to
 * yoto/{id}/commands as the bridge's own JSON.
 */

export interface HomeAssistantOptions {
  discoveryPrefix?: string;
  topicPrefix?: string;
  origin?: { name: string; sw_version?: string; support_url?: string };
}

/** Who published an entity, as Home Assistant shows it (the same for the bridge's and the settings' entities). */
export function discoveryOrigin(): NonNullable<HomeAssistantOptions['origin']> {
  return { name: 'node-red-yoto', sw_version: packageVersion(), support_url: 'https://github.com/yoto-smart-stream/node-red-yoto' };
}

export type HomeAssistantComponent = 'sensor' | 'binary_sensor' | 'number' | 'button' | 'light' | 'time' | 'switch' | 'select' | 'notify';

export interface DiscoveryConfig {
  topic: string;
  component: HomeAssistantComponent;
  objectId: string;
  payload: Record<string, unknown>;
}

interface EntitySpec {
  component: HomeAssistantComponent;
  objectId: string;
  fields(topics: DeviceTopics): Record<string, unknown>;
}

interface DeviceTopics {
  status: string;
  playback: string;
  commands: string;
  announce: string;
}

export const PLAYBACK_STATES = ['playing', 'paused', 'stopped', 'loading', 'idle'] as const;

export const AVAILABLE_TEMPLATE = "{{ 'online' if value_json.status in ['connected', 'idle'] else 'offline' }}";

const BUTTONS: ReadonlyArray<{ objectId: string; name: string; command: string; icon: string; more?: Record<string, unknown> }> = [
  // "play" of the broker needs a card or script; the button resumes what the player has.
  { objectId: 'play', name: 'Play', command: 'resume', icon: 'mdi:play' },
  { objectId: 'pause', name: 'Pause', command: 'pause', icon: 'mdi:pause' },
  { objectId: 'stop', name: 'Stop', command: 'stop', icon: 'mdi:stop' },
  { objectId: 'next', name: 'Next', command: 'next', icon: 'mdi:skip-next' },
  { objectId: 'previous', name: 'Previous', command: 'previous', icon: 'mdi:skip-previous' },
  // One step of the player's 0..16 scale, as its own dial turns it (Home Assistant's media player steps by a sixteenth).
  { objectId: 'volume_up', name: 'Volume up', command: 'volume_up', icon: 'mdi:volume-plus' },
  { objectId: 'volume_down', name: 'Volume down', command: 'volume_down', icon: 'mdi:volume-minus' },
  { objectId: 'restart', name: 'Restart', command: 'reboot', icon: 'mdi:restart', more: { device_class: 'restart', entity_category: 'config' } },
];

/**
 * A sensor of a field of yoto/<id>/status or /playback; unknown until the hub knows it. With
 * `attributes`, a template of its attributes from the same topic.
 */
function fieldSensor(objectId: string, name: string, topic: 'status' | 'playback', field: string, more: Record<string, unknown>, attributes?: string): EntitySpec {
  return {
    component: 'sensor',
    objectId,
    fields: (t) => ({
      name,
      state_topic: t[topic],
      value_template: `{{ value_json.${field} if value_json.${field} is defined else None }}`,
      ...more,
      ...(attributes ? { json_attributes_topic: t[topic], json_attributes_template: attributes } : {}),
    }),
  };
}

/** A binary sensor of a true/false field of yoto/<id>/status; unknown until the player has said. */
function statusFlag(objectId: string, name: string, field: string, more: Record<string, unknown>): EntitySpec {
  return {
    component: 'binary_sensor',
    objectId,
    fields: (t) => ({
      name,
      state_topic: t.status,
      value_template: `{{ ('ON' if value_json.${field} else 'OFF') if value_json.${field} is defined else None }}`,
      ...more,
    }),
  };
}

/** What the player reports of its power and audio outputs and card slot (Home Assistant's Yoto integration shows the same). */
const PLAYER_SENSES: EntitySpec[] = [
  statusFlag('charging', 'Charging', 'charging', { device_class: 'battery_charging' }),
  statusFlag('headphones', 'Headphones', 'headphones', { icon: 'mdi:headphones' }),
  statusFlag('bluetooth_audio', 'Bluetooth audio', 'bluetooth_audio', { icon: 'mdi:bluetooth-audio' }),
  fieldSensor('card_slot', 'Card slot', 'status', 'card_slot', { device_class: 'enum', options: [...CARD_SLOTS], icon: 'mdi:card-bulleted-outline' }),
];

const SENSORS: EntitySpec[] = [
  fieldSensor('battery', 'Battery', 'status', 'battery', { device_class: 'battery', unit_of_measurement: '%', state_class: 'measurement', entity_category: 'diagnostic' }),
  {
    component: 'sensor',
    objectId: 'playback_state',
    fields: (t) => ({
      name: 'Playback',
      state_topic: t.playback,
      value_template: '{{ value_json.state }}',
      device_class: 'enum',
      options: [...PLAYBACK_STATES],
      json_attributes_topic: t.playback,
      icon: 'mdi:play-pause',
    }),
  },
  fieldSensor('title', 'Title', 'playback', 'title', { icon: 'mdi:book-music' }),
  // The card, as Home Assistant's media player shows it (its album): the author, the card id and the cover as attributes.
  fieldSensor('card', 'Card', 'playback', 'card_title', { icon: 'mdi:card-text-outline' },
    "{{ {'author': value_json.get('card_author'), 'card_id': value_json.get('card_id'), 'cover': value_json.get('cover')} | tojson }}"),
  {
    component: 'number',
    objectId: 'volume',
    fields: (t) => ({
      name: 'Volume',
      state_topic: t.playback,
      value_template: '{{ value_json.volume if value_json.volume is defined else None }}',
      command_topic: t.commands,
      command_template: '{"command": "volume", "volume": {{ value | int }}}',
      min: 0,
      max: 100,
      step: 1,
      mode: 'slider',
      unit_of_measurement: '%',
      icon: 'mdi:volume-high',
    }),
  },
];

const BUTTON_SPECS: EntitySpec[] = BUTTONS.map((button) => ({
  component: 'button',
  objectId: button.objectId,
  fields: (t) => ({
    name: button.name,
    command_topic: t.commands,
    payload_press: JSON.stringify({ command: button.command }),
    icon: button.icon,
    ...button.more,
  }),
}));

/**
 * `notify.send_message` speaks on the player: Home Assistant's MQTT notify publishes the message
 * as plain text on yoto/<id>/announce, which the hub takes as `{text: message}` (README "Announcements").
 */
const ANNOUNCE: EntitySpec = {
  component: 'notify',
  objectId: 'announce',
  fields: (t) => ({ name: 'Announce', command_topic: t.announce, icon: 'mdi:bullhorn' }),
};

/** A Jinja slice of the colour's last six hex digits (e.g. "-6:-4") read as 0..255. */
const HEX_CHANNEL = (slice: string): string =>
  `{{ value_json.nightlight[${slice}] | int(0, 16) if value_json.nightlight is defined and value_json.nightlight | length >= 7 else 0 }}`;

const NIGHT_LIGHT: EntitySpec = {
  component: 'light',
  objectId: 'nightlight',
  fields: (t) => ({
    name: 'Night light',
    schema: 'template',
    command_topic: t.commands,
    command_on_template:
      '{"command": "nightlight", "color": {"r": {{ red | default(255) }}, "g": {{ green | default(255) }}, "b": {{ blue | default(255) }}}}',
    command_off_template: '{"command": "nightlight", "color": "off"}',
    state_topic: t.status,
    state_template: "{{ 'off' if value_json.nightlight is not defined or value_json.nightlight in ['off', '0x000000', '#000000'] else 'on' }}",
    // The player reports its colour as "0xrrggbb" (or "#rrggbb"): the last six characters.
    red_template: HEX_CHANNEL('-6:-4'),
    green_template: HEX_CHANNEL('-4:-2'),
    blue_template: HEX_CHANNEL('-2:'),
    icon: 'mdi:lightbulb-night',
  }),
};

/** Every entity the player gets: the night light only on models that have one. */
export function homeAssistantConfigs(state: DeviceState, options: HomeAssistantOptions = {}): DiscoveryConfig[] {
  const specs = [...SENSORS, ...PLAYER_SENSES, ...BUTTON_SPECS, ANNOUNCE, ...(state.hasNightLight ? [NIGHT_LIGHT] : [])];
  const topics = brokerTopics(options.topicPrefix);
  const deviceTopics: DeviceTopics = {
    status: topics.status(state.deviceId),
    playback: topics.playback(state.deviceId),
    commands: topics.commands(state.deviceId),
    announce: topics.announce(state.deviceId),
  };
  return specs.map((spec) => ({
    topic: configTopic(spec.component, state.deviceId, spec.objectId, options),
    component: spec.component,
    objectId: spec.objectId,
    payload: {
      ...spec.fields(deviceTopics),
      unique_id: `yoto_${state.deviceId}_${spec.objectId}`,
      availability: [{ topic: deviceTopics.status, value_template: AVAILABLE_TEMPLATE }],
      device: deviceBlock(state),
      ...(options.origin ? { origin: options.origin } : {}),
    },
  }));
}

/** Every config topic a player could have, so removal clears all of them. */
export function allConfigTopics(deviceId: string, options: HomeAssistantOptions = {}): string[] {
  return [...SENSORS, ...PLAYER_SENSES, ...BUTTON_SPECS, ANNOUNCE, NIGHT_LIGHT].map((spec) => configTopic(spec.component, deviceId, spec.objectId, options));
}

/** The node id of the hub's own Home Assistant device (the "all players" notify entity). */
export const ALL_PLAYERS_NODE_ID = 'yoto_all_players';

/**
 * One `notify` entity for every player: its messages go to yoto/broadcast/announcements as
 * `{"text": message}`, so they play on every online player.
 */
export function allPlayersNotifyConfig(options: HomeAssistantOptions = {}): DiscoveryConfig {
  const topics = brokerTopics(options.topicPrefix);
  return {
    topic: configTopic('notify', ALL_PLAYERS_NODE_ID, 'announce', options),
    component: 'notify',
    objectId: 'announce',
    payload: {
      name: 'Announce on every player',
      command_topic: topics.announcements,
      command_template: '{"text": {{ value | tojson }}}',
      icon: 'mdi:bullhorn',
      unique_id: `${ALL_PLAYERS_NODE_ID}_announce`,
      device: { identifiers: [ALL_PLAYERS_NODE_ID], name: 'Yoto players', manufacturer: 'Yoto Smart Stream', model: 'Every player' },
      ...(options.origin ? { origin: options.origin } : {}),
    },
  };
}

export function configTopic(component: HomeAssistantComponent, deviceId: string, objectId: string, options: HomeAssistantOptions): string {
  return `${options.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX}/${component}/${deviceId}/${objectId}/config`;
}

export function deviceBlock(state: DeviceState): Record<string, unknown> {
  return {
    identifiers: [`yoto_${state.deviceId}`],
    name: state.name,
    manufacturer: 'Yoto',
    model: modelName(state.model ?? state.deviceFamily),
    ...(state.firmware ? { sw_version: state.firmware } : {}),
  };
}

export function modelName(model: string | undefined): string {
  if (!model) return 'Yoto Player';
  return model.toLowerCase().includes('mini') ? 'Yoto Mini' : `Yoto Player (${model})`;
}
