import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { PlayerSettingsService } from '../../server/settings';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import type { YotoCloudApi } from '../../server/yoto/rest/yoto-api';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

const [LIVING_ROOM] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string];

/**
 * The settings cache against the hub's own virtual cloud: a read that was on its way while a write
 * finished must not put the older config back (an alarm just added vanished from the next answer).
 * The cloud's answer to that read is held back until the write is done, so the order is certain.
 */
describe('player settings cache: a read never undoes a write', function () {
  let hub: Hub;
  before(async () => {
    hub = await startTestHub();
  });
  after(async () => stopTestHub(hub));

  it('keeps an alarm added while an older read of the config was still on its way', async () => {
    const real = hub.cloud.api!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holdNext = true;
    // The real client, with the answer of the first read held back: the read starts before the write and ends after it.
    const api = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'getDeviceConfig' && holdNext) {
          holdNext = false;
          return async (deviceId: string) => {
            const answer = await target.getDeviceConfig(deviceId);
            await held;
            return answer;
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as YotoCloudApi;
    const settings = new PlayerSettingsService({ api: () => api, registry: hub.devices });

    const olderRead = settings.get(LIVING_ROOM, { fresh: true });
    const { alarm } = await settings.addAlarm(LIVING_ROOM, { time: '06:15' });
    release();
    const answered = await olderRead;

    expect(answered.alarms.map((a) => a.time), 'the read answers with the config the write left').to.include('06:15');
    expect(settings.cached(LIVING_ROOM)!.alarms.find((a) => a.id === alarm.id)?.time).to.equal('06:15');
    expect((await settings.get(LIVING_ROOM)).alarms.map((a) => a.time)).to.include('06:15');
  });
});
