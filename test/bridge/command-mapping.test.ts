import { expect } from 'chai';
import { mapBrokerCommand, type MappedCommand } from '../../server/bridge/command-mapping';
import { homeAssistantConfigs, modelName } from '../../server/bridge/home-assistant';
import { ManualClock } from '../../server/time/clock';
import { DeviceRegistry } from '../../server/core/device-registry';
import { getValidator } from '../../server/validation';

/** What the bridge turns a yoto/{id}/commands payload into, after the schema accepted it. */
function mapped(payload: unknown): MappedCommand {
  return mapBrokerCommand(getValidator().validate('broker-command', payload));
}

describe('broker command mapping', () => {
  it('maps every command of the seed to the hub\'s typed command', () => {
    const cases: Array<[unknown, MappedCommand]> = [
      [{ command: 'play', card_id: 'abc12' }, { kind: 'device', command: { type: 'play', cardId: 'abc12' } }],
      [
        { command: 'play', card_id: 'abc12', chapter_key: '03', track_key: '01', seconds_in: 30 },
        { kind: 'device', command: { type: 'play', cardId: 'abc12', chapterKey: '03', trackKey: '01', secondsIn: 30 } },
      ],
      [{ command: 'play', script_id: 'bedtime-1', chapter_key: '02' }, { kind: 'script', request: { scriptId: 'bedtime-1', chapterKey: '02' } }],
      [{ command: 'pause' }, { kind: 'device', command: { type: 'pause' } }],
      [{ command: 'resume' }, { kind: 'device', command: { type: 'resume' } }],
      [{ command: 'stop' }, { kind: 'device', command: { type: 'stop' } }],
      [{ command: 'next' }, { kind: 'device', command: { type: 'next' } }],
      [{ command: 'previous' }, { kind: 'device', command: { type: 'previous' } }],
      [{ command: 'seek', position: 95.5 }, { kind: 'device', command: { type: 'seek', position: 95.5 } }],
      [{ command: 'volume', volume: 40, request_id: 'r1' }, { kind: 'device', command: { type: 'volume', percent: 40 } }],
      [{ command: 'sleep', seconds: 1800 }, { kind: 'device', command: { type: 'sleep', seconds: 1800 } }],
      [{ command: 'sleep', seconds: 0 }, { kind: 'device', command: { type: 'sleep', seconds: 0 } }],
      [{ command: 'nightlight', color: '#FF8000' }, { kind: 'device', command: { type: 'nightlight', color: { r: 255, g: 128, b: 0 } } }],
      [{ command: 'nightlight', color: { r: 1, g: 2, b: 3 } }, { kind: 'device', command: { type: 'nightlight', color: { r: 1, g: 2, b: 3 } } }],
      [{ command: 'nightlight', color: 'off' }, { kind: 'device', command: { type: 'nightlight', color: 'off' } }],
      [{ command: 'reboot' }, { kind: 'device', command: { type: 'reboot' } }],
      [{ command: 'status_request' }, { kind: 'device', command: { type: 'status-request' } }],
    ];
    for (const [payload, expected] of cases) expect(mapped(payload), JSON.stringify(payload)).to.deep.equal(expected);
  });
});

describe('Home Assistant discovery configs', () => {
  function players(): DeviceRegistry {
    const registry = new DeviceRegistry({ clock: new ManualClock(Date.UTC(2026, 0, 10, 8, 0, 0)) });
    registry.upsertDevices([
      { deviceId: 'vliving0room0yoto0player', name: 'Living Room', online: true, deviceType: 'v3', deviceFamily: 'v3' },
      { deviceId: 'vkids0bedroom0yoto0mini0', name: 'Kids Bedroom', online: true, deviceType: 'mini', deviceFamily: 'mini' },
    ]);
    return registry;
  }

  it('gives a Yoto Player nineteen entities and a Yoto Mini eighteen (no night light), each unique and tied to one device', () => {
    const registry = players();
    const player = homeAssistantConfigs(registry.get('vliving0room0yoto0player')!);
    const mini = homeAssistantConfigs(registry.get('vkids0bedroom0yoto0mini0')!);
    expect(player.map((c) => `${c.component}/${c.objectId}`)).to.deep.equal([
      'sensor/battery',
      'sensor/playback_state',
      'sensor/title',
      'sensor/card',
      'number/volume',
      'binary_sensor/charging',
      'binary_sensor/headphones',
      'binary_sensor/bluetooth_audio',
      'sensor/card_slot',
      'button/play',
      'button/pause',
      'button/stop',
      'button/next',
      'button/previous',
      'button/volume_up',
      'button/volume_down',
      'button/restart',
      'notify/announce',
      'light/nightlight',
    ]);
    expect(player.find((c) => c.component === 'notify')?.payload).to.include({ command_topic: 'yoto/vliving0room0yoto0player/announce' });
    expect(mini.map((c) => c.objectId)).to.not.include('nightlight');
    expect(mini).to.have.length(18);
    const uniqueIds = [...player, ...mini].map((c) => c.payload['unique_id']);
    expect(new Set(uniqueIds).size).to.equal(uniqueIds.length);
    expect(player[0]?.payload['device']).to.deep.equal({ identifiers: ['yoto_vliving0room0yoto0player'], name: 'Living Room', manufacturer: 'Yoto', model: 'Yoto Player (v3)' });
    expect(mini[0]?.topic).to.equal('homeassistant/sensor/vkids0bedroom0yoto0mini0/battery/config');
    expect(modelName('mini')).to.equal('Yoto Mini');
  });

  it('reads charging, headphones, Bluetooth audio and the card slot from yoto/<id>/status, and presses volume steps and restart as commands', () => {
    const configs = new Map(homeAssistantConfigs(players().get('vkids0bedroom0yoto0mini0')!).map((c) => [`${c.component}/${c.objectId}`, c.payload]));
    const status = 'yoto/vkids0bedroom0yoto0mini0/status';
    expect(configs.get('binary_sensor/charging')).to.deep.include({
      state_topic: status,
      value_template: "{{ ('ON' if value_json.charging else 'OFF') if value_json.charging is defined else None }}",
      device_class: 'battery_charging',
    });
    expect(configs.get('binary_sensor/headphones')?.['value_template']).to.contain('value_json.headphones');
    expect(configs.get('binary_sensor/bluetooth_audio')?.['value_template']).to.contain('value_json.bluetooth_audio');
    expect(configs.get('sensor/card_slot')).to.deep.include({ state_topic: status, device_class: 'enum' });
    expect(configs.get('sensor/card_slot')?.['options']).to.deep.equal(['none', 'physical', 'remote', 'streaming']);
    const commands = 'yoto/vkids0bedroom0yoto0mini0/commands';
    expect(configs.get('button/volume_up')).to.deep.include({ command_topic: commands, payload_press: '{"command":"volume_up"}' });
    expect(configs.get('button/volume_down')).to.deep.include({ command_topic: commands, payload_press: '{"command":"volume_down"}' });
    expect(configs.get('button/restart')).to.deep.include({ command_topic: commands, payload_press: '{"command":"reboot"}', device_class: 'restart', entity_category: 'config' });
  });

  it('reads battery, playback and title from the topics the bridge publishes', () => {
    const [battery, playback, title] = homeAssistantConfigs(players().get('vkids0bedroom0yoto0mini0')!, { discoveryPrefix: 'ha' });
    expect(battery).to.deep.include({ topic: 'ha/sensor/vkids0bedroom0yoto0mini0/battery/config' });
    expect(battery?.payload).to.deep.include({ state_topic: 'yoto/vkids0bedroom0yoto0mini0/status', device_class: 'battery', unit_of_measurement: '%' });
    expect(playback?.payload).to.deep.include({ state_topic: 'yoto/vkids0bedroom0yoto0mini0/playback', value_template: '{{ value_json.state }}', device_class: 'enum' });
    expect(playback?.payload['options']).to.deep.equal(['playing', 'paused', 'stopped', 'loading', 'idle']);
    expect(title?.payload['state_topic']).to.equal('yoto/vkids0bedroom0yoto0mini0/playback');
  });
});
