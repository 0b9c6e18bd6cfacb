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
}

const jinjaString = (value: string): string => JSON.stringify(value).replace(/'/g, "\\'");

/** A Jinja mapping from colour to preset name, for a select's state. */
function presetTemplate(field: string, presets: Record<string, string>): string {
  const pairs = Object.entries(presets).map(([name, hex]) => `${jinjaString(hex)}: ${jinjaString(name)}`);
  return `{% set names = {${pairs.join(', ')}, "off": "Off"} %}{{ names.get(value_json.${field}, None) if value_json.${field} is defined else None }}`;
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
  for (const [mode, label] of [['day', 'Day'], ['night', 'Night']] as const) {
    entities.push({
      component: 'time',
      objectId: `${mode}_mode_start`,
      fields: {
        name: `${label} mode starts`,
        ...settingsState,
        value_template: `{{ value_json.${mode}Time }}`,
        command_topic: topics.settingsSet,
        command_template: `{"${mode}Time": "{{ (value | string)[:5] }}"}`,
        entity_category: 'config',
        icon: mode === 'day' ? 'mdi:weather-sunny' : 'mdi:weather-night',
      },
    });
    entities.push({
      component: 'number',
      objectId: `${mode}_max_volume`,
      fields: {
        name: `${label} maximum volume`,
        ...settingsState,
        value_template: `{{ value_json.${mode}MaxVolume }}`,
        command_topic: topics.settingsSet,
        command_template: `{"${mode}MaxVolume": {{ value | int }}}`,
        min: 0,
        max: 16,
        step: 1,
        mode: 'slider',
        entity_category: 'config',
        icon: 'mdi:volume-equal',
      },
    });
    entities.push({
      component: 'number',
      objectId: `${mode}_brightness`,
      fields: {
        name: `${label} screen brightness`,
        ...settingsState,
        value_template: `{{ value_json.${mode}Brightness if value_json.${mode}Brightness != 'auto' else None }}`,
        command_topic: topics.settingsSet,
        command_template: `{"${mode}Brightness": {{ value | int }}}`,
        min: 0,
        max: 100,
        step: 1,
        unit_of_measurement: '%',
        entity_category: 'config',
        icon: 'mdi:brightness-6',
      },
    });
    if (settings?.capabilities.lightSensor) {
      entities.push({
        component: 'switch',
        objectId: `${mode}_brightness_auto`,
        fields: {
          name: `${label} brightness automatic`,
          ...settingsState,
          value_template: `{{ 'ON' if value_json.${mode}Brightness == 'auto' else 'OFF' }}`,
          command_topic: topics.settingsSet,
          payload_on: JSON.stringify({ [`${mode}Brightness`]: 'auto' }),
          payload_off: JSON.stringify({ [`${mode}Brightness`]: 100 }),
          state_on: 'ON',
          state_off: 'OFF',
          entity_category: 'config',
          icon: 'mdi:brightness-auto',
        },
      });
    }
    if (settings?.capabilities.nightLight) {
      const presets = settings.capabilities.nightLightPresets;
      entities.push({
        component: 'select',
        objectId: `${mode}_night_light`,
        fields: {
          name: `${label} night light`,
          ...settingsState,
          value_template: presetTemplate(`${mode}NightLight`, presets),
          command_topic: topics.settingsSet,
          command_template: `{"${mode}NightLight": "{{ value }}"}`,
          options: [...Object.keys(presets), 'Off'],
          entity_category: 'config',
          icon: 'mdi:lightbulb-night-outline',
        },
      });
    }
  }
  entities.push({
    component: 'switch',
    objectId: 'bluetooth',
    fields: {
      name: 'Bluetooth',
      ...settingsState,
      value_template: "{{ 'ON' if value_json.bluetoothEnabled else 'OFF' }}",
      command_topic: topics.settingsSet,
      payload_on: '{"bluetoothEnabled": true}',
      payload_off: '{"bluetoothEnabled": false}',
      state_on: 'ON',
      state_off: 'OFF',
      entity_category: 'config',
      icon: 'mdi:bluetooth',
    },
  });
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
        payload_on: '{"enabled": true}',
        payload_off: '{"enabled": false}',
        state_on: 'ON',
        state_off: 'OFF',
        icon: 'mdi:alarm',
      },
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
      availability: [{ topic: status, value_template: AVAILABLE_TEMPLATE }],
      device: deviceBlock(state),
      ...(options.origin ? { origin: options.origin } : {}),
    },
  }));
}
