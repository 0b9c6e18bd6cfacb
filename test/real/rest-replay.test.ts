import { expect } from 'chai';
import { DeviceRegistry } from '../../server/core/device-registry';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { validateCard } from '../../server/virtual/cards/validate-card';
import type { CardInput } from '../../server/yoto/card';
import { readPlayerPayload } from '../../server/yoto/mqtt';
import type { YotoDeviceConfig, YotoDevicesResponse } from '../../server/yoto/rest/types';
import { createAdapter, signInThroughBrowser, startCloudRig, type Adapter, type CloudRig } from '../yoto-rest/cloud-harness';
import { cardItems, restItems } from './corpus';

/** The part of `actual` that `expected` names: a card read back keeps every field the real card carried. */
function expectKept(actual: unknown, expected: unknown, where: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    expect(actual, where).to.be.an('object');
    for (const [key, value] of Object.entries(expected)) expectKept((actual as Record<string, unknown>)[key], value, `${where}.${key}`);
  } else if (Array.isArray(expected)) {
    expect(actual, where).to.be.an('array').with.length(expected.length);
    expected.forEach((value, i) => expectKept((actual as unknown[])[i], value, `${where}[${i}]`));
  } else {
    expect(actual, where).to.equal(expected);
  }
}

describe('real corpus: REST bodies and cards through the REST client and the virtual cloud', function () {
  let rig: CloudRig;
  let adapter: Adapter;
  const livingRoom = DEFAULT_VIRTUAL_PLAYERS[0]!.deviceId;

  before(async () => {
    rig = await startCloudRig();
    adapter = createAdapter(rig);
    await signInThroughBrowser(adapter);
  });
  after(async () => {
    adapter.rest.close();
    await rig.stop();
  });

  for (const item of restItems().filter((entry) => (entry.body['device'] as { config?: unknown } | undefined)?.config !== undefined || entry.endpoint.startsWith('PUT'))) {
    it(`saves the real player settings "${item.id}" and reads every one back (${item.endpoint})`, async () => {
      const config = ((item.body['device'] as { config?: YotoDeviceConfig } | undefined)?.config ?? (item.body['config'] as YotoDeviceConfig));
      await adapter.api.putDeviceConfig(livingRoom, { config });
      const read = await adapter.api.getDeviceConfig(livingRoom);
      expectKept(read.config, config, item.id);
    });
  }

  it('reads the REST status shadow with the same reader as status/full, keeping every field', () => {
    for (const item of restItems().filter((entry) => (entry.body['device'] as { status?: unknown } | undefined)?.status !== undefined)) {
      const device = item.body['device'] as { online: boolean; status: Record<string, unknown> };
      const read = readPlayerPayload('fullStatus', { status: device.status });
      expect(read.ok, item.id).to.equal(true);
      if (!read.ok) continue;
      expect(read.message.dropped, item.id).to.deep.equal([]);
      for (const [field, value] of Object.entries(device.status)) {
        expect(read.message.extra[field] ?? (read.message.payload as Record<string, unknown>)[field], `${item.id}: ${field}`).to.deep.equal(value);
      }
    }
  });

  it('takes a real device list entry into the device model', () => {
    const registry = new DeviceRegistry({ silenceTimeoutMs: 0, offlineAlertMs: 0 });
    const item = restItems().find((entry) => entry.id === 'ha-device')!;
    const { devices } = item.body as unknown as YotoDevicesResponse;
    registry.upsertDevices(devices.map((device) => ({ deviceId: device.deviceId, name: device.name, online: device.online, deviceType: device.deviceType, deviceFamily: device.deviceFamily })));
    expect(registry.get('player-test')).to.deep.include({ name: 'Nursery Yoto', model: 'v3', online: true, hasNightLight: true });
    registry.stop();
  });

  for (const item of cardItems()) {
    it(`saves the real card "${item.id}", reads it back with every field, and takes it back unchanged`, async () => {
      const { cardId: _readId, ...real } = item.body.card;
      expect(validateCard(real), item.id).to.deep.equal([]);
      const saved = await adapter.api.saveCard(real as unknown as CardInput);
      const read = await adapter.api.getCard(saved.cardId);
      expectKept(read, real, item.id);
      // What the cloud gave back is saved back as it is (a client that edits one title sends the rest unchanged).
      const again = await adapter.api.saveCard(read as unknown as CardInput);
      expect(again.cardId).to.equal(saved.cardId);
      expectKept(await adapter.api.getCard(saved.cardId), real, `${item.id} (saved back)`);
    });
  }

  it('still refuses what the real cloud refuses: a track with no audio, a key with a line break, an icon that is no reference', () => {
    const base = cardItems()[0]!.body.card as { content: { chapters: Array<{ key: string; tracks: Array<Record<string, unknown>> }> } };
    const noAudio = structuredClone(base);
    noAudio.content.chapters[0]!.tracks[0]!['trackUrl'] = '';
    expect(validateCard(noAudio).map((issue) => issue.path)).to.include('content.chapters[0].tracks[0].trackUrl');
    const badKey = structuredClone(base);
    badKey.content.chapters[0]!.key = 'two\nlines';
    expect(validateCard(badKey).map((issue) => issue.path)).to.include('content.chapters[0].key');
    const badIcon = structuredClone(base);
    badIcon.content.chapters[0]!.tracks[0]!['display'] = { icon16x16: 'owl.png' };
    expect(validateCard(badIcon).map((issue) => issue.path)).to.include('content.chapters[0].tracks[0].display.icon16x16');
  });
});
