import type { DeviceState } from '../core/device-state';
import { AVAILABLE_TEMPLATE, configTopic, deviceBlock, type DiscoveryConfig, type HomeAssistantComponent, type HomeAssistantOptions } from '../bridge/home-assistant';
import { brokerTopics } from '../bridge/topics';
import type { PlayerSettingsView } from './settings-service';

/**
 * Home Assistant entities for a player's settings, beside the bridge's
 * playback entities: day/night start times (`time`), maximum volumes and
 * brightness (`number`, with an auto `switch` where there is a light sensor),
 * night-light presets (`select`), Bluetooth and each alarm (`switch`), the
 * day/night mode (`sensor`) and a card picker (`select`) that plays a card of
 * the family library. Writes go to yoto/{id}/settings/set (and
 * .../settings/alarms/{n}/set), so they are the same read-merge-write as
 * everywhere else.
 */

export interface SettingsTopics {
  settings: string;
  settingsSet: string;
  alarmSet: (id: number) => string;
}

export function settingsTopics(prefix: string, deviceId: string): SettingsTopics {
  return {
    settings: `${prefix}/${deviceId}/settings`,
    settingsSet: `${prefix}/${deviceId}/settings/set`,
    alarmSet: (id) => `${prefix}/${deviceId}/settings/alarms/${id}/set`,
  };
}

/** The most titles the card picker offers (Home Assistant lists them all in one dropdown). */
export const MAX_CARD_OPTIONS = 100;

interface Entity {
  component: HomeAssistantComponent;
  objectId: string;
  fields: Record<string, unknown>;
  /** A setting kept by the cloud: it may be changed while the player is off (it takes it when it comes back). */
  inCloud?: boolean;
}

/**
 * Available while the hub knows the player (its status topic is there), online or not: settings live
 * in the cloud, as in Home Assistant's own Yoto integration, so tomorrow's alarm can be set at night.
 */
export const KNOWN_PLAYER_TEMPLATE = "{{ 'online' if value_json.status is defined else 'offline' }}";

const jinjaString = (value: string): string => JSON.stringify(value).replace(/'/g, "\\'");

/** A Jinja mapping from colour to preset name, for a select's state. */
function presetTemplate(field: string, presets: Record<string, string>): string {
  const pairs = Object.entries(presets).map(([name, hex]) => `${jinjaString(hex)}: ${jinjaString(name)}`);
  return `{% set names = {${pairs.join(', ')}, "off": "Off"} %}{{ names.get(value_json.${field}, None) if value_json.${field} is defined else None }}`;
}

/** A switch's payloads: what it publishes to turn on and off, and the ON/OFF its state template gives. */
function onOff(payloadOn: string, payloadOff: string): Record<string, string> {
  return { payload_on: payloadOn, payload_off: payloadOff, state_on: 'ON', state_off: 'OFF' };
}

export function settingsEntities(
  state: DeviceState,
  settings: PlayerSettingsView | undefined,
  cardTitles: readonly string[],
  topicPrefix: string,
): Entity[] {
  const topics = settingsTopics(topicPrefix, state.deviceId);
  const main = brokerTopics(topicPrefix);
  const settingsState = { state_topic: topics.settings };
  const entities: Entity[] = [];
  /** A config entity of one setting: its state read from the settings, a change written to settings/set. */
  const setting = (component: HomeAssistantComponent, objectId: string, name: string, valueTemplate: string, own: Record<string, unknown>, icon: string): void => {
    entities.push({
      component,
      objectId,
      fields: { name, ...settingsState, value_template: valueTemplate, command_topic: topics.settingsSet, ...own, entity_category: 'config', icon },
      inCloud: true,
    });
  };
  for (const [mode, label] of [['day', 'Day'], ['night', 'Night']] as const) {
    setting('time', `${mode}_mode_start`, `${label} mode starts`, `{{ value_json.${mode}Time }}`, {
      command_template: `{"${mode}Time": "{{ (value | string)[:5] }}"}`,
    }, mode === 'day' ? 'mdi:weather-sunny' : 'mdi:weather-night');
    setting('number', `${mode}_max_volume`, `${label} maximum volume`, `{{ value_json.${mode}MaxVolume }}`, {
      command_template: `{"${mode}MaxVolume": {{ value | int }}}`,
      min: 0,
      max: 16,
      step: 1,
      mode: 'slider',
    }, 'mdi:volume-equal');
    setting('number', `${mode}_brightness`, `${label} screen brightness`, `{{ value_json.${mode}Brightness if value_json.${mode}Brightness != 'auto' else None }}`, {
      command_template: `{"${mode}Brightness": {{ value | int }}}`,
      min: 0,
      max: 100,
      step: 1,
      unit_of_measurement: '%',
    }, 'mdi:brightness-6');
    if (settings?.capabilities.lightSensor) {
      setting('switch', `${mode}_brightness_auto`, `${label} brightness automatic`, `{{ 'ON' if value_json.${mode}Brightness == 'auto' else 'OFF' }}`,
        onOff(JSON.stringify({ [`${mode}Brightness`]: 'auto' }), JSON.stringify({ [`${mode}Brightness`]: 100 })), 'mdi:brightness-auto');
    }
    if (settings?.capabilities.nightLight) {
      const presets = settings.capabilities.nightLightPresets;
      setting('select', `${mode}_night_light`, `${label} night light`, presetTemplate(`${mode}NightLight`, presets), {
        command_template: `{"${mode}NightLight": "{{ value }}"}`,
        options: [...Object.keys(presets), 'Off'],
      }, 'mdi:lightbulb-night-outline');
    }
  }
  setting('switch', 'bluetooth', 'Bluetooth', "{{ 'ON' if value_json.bluetoothEnabled else 'OFF' }}", onOff('{"bluetoothEnabled": true}', '{"bluetoothEnabled": false}'), 'mdi:bluetooth');
  setting('switch', 'headphones_volume_limited', 'Headphone volume limit', "{{ 'ON' if value_json.headphonesVolumeLimited else 'OFF' }}",
    onOff('{"headphonesVolumeLimited": true}', '{"headphonesVolumeLimited": false}'), 'mdi:headphones-settings');
  entities.push({
    component: 'sensor',
    objectId: 'day_mode',
    fields: {
      name: 'Day or night mode',
      state_topic: main.status(state.deviceId),
      value_template: '{{ value_json.day_mode if value_json.day_mode is defined else None }}',
      device_class: 'enum',
      options: ['day', 'night'],
      icon: 'mdi:theme-light-dark',
    },
  });
  for (const alarm of settings?.alarms ?? []) {
    entities.push({
      component: 'switch',
      objectId: `alarm_${alarm.id}`,
      fields: {
        name: `Alarm ${alarm.id + 1}`,
        ...settingsState,
        value_template: `{{ 'ON' if value_json.alarms | selectattr('id', 'equalto', ${alarm.id}) | map(attribute='enabled') | first else 'OFF' }}`,
        json_attributes_topic: topics.settings,
        json_attributes_template: `{{ (value_json.alarms | selectattr('id', 'equalto', ${alarm.id}) | first) | tojson }}`,
        command_topic: topics.alarmSet(alarm.id),
        ...onOff('{"enabled": true}', '{"enabled": false}'),
        icon: 'mdi:alarm',
      },
      inCloud: true,
    });
  }
  const titles = [...new Set(cardTitles)].slice(0, MAX_CARD_OPTIONS);
  if (titles.length > 0) {
    entities.push({
      component: 'select',
      objectId: 'play_card',
      fields: {
        name: 'Play card',
        command_topic: main.commands(state.deviceId),
        command_template: '{"command": "play", "title": {{ value | tojson }}}',
        options: titles,
        optimistic: true,
        icon: 'mdi:cards-playing-outline',
      },
    });
  }
  return entities;
}

/** The retained discovery configs of those entities. */
export function settingsDiscoveryConfigs(
  state: DeviceState,
  settings: PlayerSettingsView | undefined,
  cardTitles: readonly string[],
  options: HomeAssistantOptions & { topicPrefix: string },
): DiscoveryConfig[] {
  const status = brokerTopics(options.topicPrefix).status(state.deviceId);
  return settingsEntities(state, settings, cardTitles, options.topicPrefix).map((entity) => ({
    topic: configTopic(entity.component, state.deviceId, entity.objectId, options),
    component: entity.component,
    objectId: entity.objectId,
    payload: {
      ...entity.fields,
      unique_id: `yoto_${state.deviceId}_${entity.objectId}`,
      availability: [{ topic: status, value_template: entity.inCloud ? KNOWN_PLAYER_TEMPLATE : AVAILABLE_TEMPLATE }],
      device: deviceBlock(state),
      ...(options.origin ? { origin: options.origin } : {}),
    },
  }));
}
