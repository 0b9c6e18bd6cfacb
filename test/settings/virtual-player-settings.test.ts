import { expect } from 'chai';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { ManualClock } from '../../server/time/clock';
import { VirtualCloud } from '../../server/virtual/virtual-cloud';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { DEFAULT_DEVICE_CONFIG } from '../../server/virtual/http/device-registry';
import { startAedes } from '../helpers/aedes-broker';
import { BrokerWatcher } from '../helpers/broker-watcher';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];
/** ManualClock's start: Tuesday 2025-12-23 18:42:30 UTC (virtual players keep UTC). */
const START = Date.parse('2025-12-23T18:42:30.000Z');

/**
 * Virtual players follow the settings the cloud stores for them, on their
 * own (virtual) clock: day/night mode at its times with the mode's maximum
 * volume and night light, and alarms that go off and play.
 */
describe('virtual players and their settings', function () {
  let broker: EmbeddedBroker;
  let cloud: VirtualCloud;
  let clock: ManualClock;

  beforeEach(async () => {
    broker = await startAedes();
    clock = new ManualClock(START);
    cloud = new VirtualCloud({ port: 0, brokerUrl: broker.url, clock });
    await cloud.start();
  });
  afterEach(async () => {
    await cloud.stop();
    await broker.stop();
    expect(clock.pendingTimers(), 'a stopped cloud leaves no timer').to.equal(0);
  });

  const player = (deviceId: string) => cloud.fleet.player(deviceId)!;
  /** What the cloud's PUT .../config does, with the player's current config merged in (as the hub sends it). */
  const writeConfig = async (deviceId: string, change: Record<string, unknown>) =>
    cloud.devices.replaceConfig(deviceId, { config: { ...cloud.devices.config(deviceId).config, ...change } });

  it('each model ships with the settings of its hardware', () => {
    const v3 = cloud.devices.config(LIVING_ROOM).config;
    const mini = cloud.devices.config(KIDS).config;
    expect(v3.dayDisplayBrightness, 'the third generation has a light sensor').to.equal('auto');
    expect(mini.dayDisplayBrightness, 'the Mini has none').to.not.equal('auto');
    expect(v3.ambientColour).to.equal(DEFAULT_DEVICE_CONFIG.ambientColour);
    expect(mini.ambientColour, 'the Mini has no night light').to.equal('#0');
  });

  it('switches to night mode at its time and lowers a too-high volume to the night maximum', async () => {
    await player(LIVING_ROOM).turnVolume(16);
    expect(player(LIVING_ROOM).snapshot().volumePercent).to.equal(100);
    await writeConfig(LIVING_ROOM, { dayTime: '07:00', nightTime: '18:44', maxVolumeLimit: '16', nightMaxVolumeLimit: '4', nightAmbientColour: '#ff3900' });
    expect(player(LIVING_ROOM).snapshot().dayMode).to.equal('day');
    await clock.advance(90_000);
    const night = player(LIVING_ROOM).snapshot();
    expect(night.dayMode).to.equal('night');
    expect(night.maxVolumeLevel).to.equal(4);
    expect(night.volumePercent, 'volume 4 of 16').to.equal(25);
    expect(night.nightlight, 'the night colour comes on').to.equal('0xff3900');
    await player(LIVING_ROOM).turnVolume(5);
    expect(player(LIVING_ROOM).snapshot().volumePercent, 'the wheel stops at the night maximum').to.equal(25);
  });

  it('publishes its day/night mode in its status', async () => {
    const house = await BrokerWatcher.connect(broker.url, [`device/${KIDS}/data/status`]);
    try {
      await writeConfig(KIDS, { nightTime: '18:44' });
      const mark = house.mark;
      await clock.advance(90_000);
      const status = await house.nextOn(`device/${KIDS}/data/status`, (json) => (json['status'] as { day?: number }).day === 0, mark);
      expect((status['status'] as { day: number }).day).to.equal(0);
    } finally {
      await house.close();
    }
  });

  it('an alarm set for the next minute goes off and plays its sound', async () => {
    await writeConfig(KIDS, { alarms: ['1111111,1843,vbLullaby01,,,6,1', '1111111,1843,vbSpace0001,,,6,0'] });
    expect(player(KIDS).snapshot().playbackStatus).to.equal('stopped');
    await clock.advance(31_000);
    const ringing = player(KIDS).snapshot();
    expect(ringing.cardId, 'the enabled alarm, not the disabled one').to.equal('vbLullaby01');
    expect(ringing.playbackStatus).to.equal('playing');
    expect(ringing.lastAlarm).to.include({ time: '18:43', soundId: 'vbLullaby01' });
    expect(ringing.volumePercent, 'at the alarm volume, 6 of 16').to.equal(38);
  });

  it('an alarm without a sound of its own plays the alarm tone; one for another weekday stays silent', async () => {
    // 2025-12-23 is a Tuesday: the second flag.
    await writeConfig(LIVING_ROOM, { alarms: ['1011111,1843,,,,,1'] });
    await clock.advance(31_000);
    expect(player(LIVING_ROOM).snapshot().playbackStatus).to.equal('stopped');
    await writeConfig(LIVING_ROOM, { alarms: ['0100000,1844,,,,,1'] });
    await clock.advance(60_000);
    expect(player(LIVING_ROOM).snapshot().cardId).to.equal('vtAlarmTone');
  });

  it('shows a display preview only while the screen is awake, for its timeout', async () => {
    const kids = player(KIDS);
    expect(kids.snapshot().screenOn, 'awake right after power on').to.equal(true);
    kids.handleCommand('display/preview', JSON.stringify({ uri: 'yoto:#abc', timeout: 5, animated: 0 }));
    expect(kids.snapshot().display).to.include({ icon: 'yoto:#abc' });
    await clock.advance(6_000);
    expect(kids.snapshot().display, 'gone after its timeout').to.equal(undefined);
    await clock.advance(120_000);
    expect(kids.snapshot().screenOn, 'asleep after the dim timeout').to.equal(false);
    kids.handleCommand('display/preview', JSON.stringify({ uri: 'yoto:#abc', timeout: 5, animated: 0 }));
    expect(kids.snapshot().display, 'an asleep screen shows nothing').to.equal(undefined);
  });
});
