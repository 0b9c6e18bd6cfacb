import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import type { Hub } from '../../server/hub';
import { liveMode } from '../helpers/day-mode';
import { initNodeRedHelper, nodeRedVersion, withLocale } from '../helpers/node-red';
import { KIDS_BEDROOM, LIVING_ROOM, playbackKnown, Received, runningHub, type FlowNode, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
/* eslint-disable @typescript-eslint/no-require-imports */
const yotoHubNode = withLocale(require('../../nodes/yoto-hub/yoto-hub') as (RED: unknown) => void, 'yoto-hub');
const announceNode = withLocale(require('../../nodes/yoto-announce/yoto-announce') as (RED: unknown) => void, 'yoto-announce');
/* eslint-enable @typescript-eslint/no-require-imports */
const NODES = [yotoHubNode, announceNode];

const helper = initNodeRedHelper();

interface DoneMessage extends NodeMessage {
  payload: { announcementId: string; deviceId: string; deviceName: string; status: string; request: Record<string, unknown> };
  device: { id: string; name: string };
}
interface CaughtMessage extends NodeMessage {
  error: { message: string; source: { id: string; type: string } };
}

/** Keeps a player in day mode whatever the time of day (night mode refuses normal announcements), through the hub's settings. */
async function dayMode(hub: Hub, deviceId: string): Promise<void> {
  await hub.settings.update(deviceId, { dayTime: '00:00', nightTime: '23:59' });
  await liveMode(hub, deviceId, 'day');
}

/**
 * The yoto-announce node in a deployed flow (node-red-node-test-helper) on its own hub: one
 * message per player once that player is done, and done(err) (seen by a Catch node) when a
 * player could not play it.
 */
describe(`yoto-announce node (Node-RED ${nodeRedVersion()})`, function () {
  this.timeout(60_000);
  const hubConfig = useHubConfigPerTest(helper);

  function flow(settings: Record<string, unknown>): FlowNode[] {
    return [
      { id: 'f1', type: 'tab', label: 'test' } as FlowNode,
      hubConfig().node,
      { id: 'announce', type: 'yoto-announce', z: 'f1', name: '', hub: 'hub1', devices: '', source: 'payload', value: '', volume: '', priority: 'normal', chime: false, wires: [['out']], ...settings },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'catch1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
  }

  async function ready(): Promise<{ hub: Hub; out: Received<DoneMessage>; caught: Received<CaughtMessage> }> {
    const hub = await runningHub(helper.getNode('hub1'));
    for (const deviceId of [LIVING_ROOM, KIDS_BEDROOM]) {
      await playbackKnown(hub, deviceId);
      await dayMode(hub, deviceId);
    }
    return { hub, out: new Received<DoneMessage>(helper.getNode('out')), caught: new Received<CaughtMessage>(helper.getNode('caught')) };
  }

  it('says msg.payload on the players named in the node and sends one message per player when it is done there', async () => {
    await helper.load(NODES, flow({ devices: 'Kids Bedroom, Living Room', volume: '40', chime: true }));
    const { hub, out, caught } = await ready();
    helper.getNode('announce').receive({ payload: 'Dinner is ready', topic: 'kitchen' } as NodeMessage);
    const done = await out.atLeast(2);
    expect(done.map((m) => m.payload.deviceId).sort()).to.deep.equal([KIDS_BEDROOM, LIVING_ROOM].sort());
    for (const message of done) {
      expect(message.topic).to.equal('kitchen');
      expect(message.payload).to.include({ status: 'finished' });
      expect(message.payload.request).to.include({ text: 'Dinner is ready', volume: 40, chime: true });
      expect(message.device.id).to.equal(message.payload.deviceId);
    }
    const record = hub.announcements.get(done[0]!.payload.announcementId);
    expect(record).to.include({ source: 'node' });
    expect(caught.messages).to.deep.equal([]);
  });

  it('takes the players from msg.device_ids and a whole request in msg.payload', async () => {
    await helper.load(NODES, flow({}));
    const { hub, out } = await ready();
    const request = { url: `${hub.url}/announcements/chime.mp3`, repeat: 2 };
    helper.getNode('announce').receive({ payload: request, device_ids: [KIDS_BEDROOM] } as NodeMessage);
    const [done] = await out.atLeast(1);
    expect(done!.payload).to.include({ deviceId: KIDS_BEDROOM, status: 'finished' });
    expect(done!.payload.request).to.deep.include({ ...request, device_ids: [KIDS_BEDROOM] });
  });

  it('reports a player that could not play it with done(err), which a Catch node sees, naming the reason', async () => {
    await helper.load(NODES, flow({ devices: KIDS_BEDROOM }));
    const { out, caught } = await ready();
    helper.getNode('announce').receive({ payload: { audio_file_id: 'no-such-file' } } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error!.error.source).to.include({ id: 'announce', type: 'yoto-announce' });
    expect(error!.error.message).to.match(/Kids Bedroom: failed \(not_found/);
    expect(out.messages).to.deep.equal([]);
  });

  it('refuses a message with nothing to say with done(err)', async () => {
    await helper.load(NODES, flow({ devices: KIDS_BEDROOM }));
    const { caught } = await ready();
    helper.getNode('announce').receive({ payload: 42 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error!.error.message).to.match(/nothing to say/);
  });
});
