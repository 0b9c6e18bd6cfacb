import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import type { Hub } from '../../server/hub';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { catchAll, type CaughtMessage, type FlowNode, hubWithPlayers, KIDS_BEDROOM, LIVING_ROOM, onTestTab, Received, sinks, Statuses, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-device-command');

const helper = initNodeRedHelper();

interface ResultMessage extends NodeMessage {
  payload: { deviceId: string; deviceName: string; command: string; confirmedBy: string; latencyMs: number; request: Record<string, unknown> };
}

describe(`yoto-device-command node (Node-RED ${nodeRedVersion()})`, function () {
  const hubConfig = useHubConfigPerTest(helper);

  /** A flow: the command node `cmd` wired to `out`, a catch node to `caught` and a complete node (on cmd) to `completed`. */
  function flow(settings: Record<string, unknown>): FlowNode[] {
    return onTestTab(
      hubConfig,
      { id: 'cmd', type: 'yoto-device-command', z: 'f1', name: '', hub: 'hub1', device: LIVING_ROOM, command: 'pause', outputs: 1, wires: [['out']], ...settings },
      ...catchAll(),
      { id: 'complete1', type: 'complete', z: 'f1', scope: ['cmd'], uncaught: false, wires: [['completed']] },
      ...sinks('out', 'completed'),
    );
  }

  async function ready(): Promise<{ hub: Hub; out: Received<ResultMessage>; caught: Received<CaughtMessage>; completed: Received; statuses: Statuses }> {
    const hub = await hubWithPlayers(helper, LIVING_ROOM, KIDS_BEDROOM);
    return {
      hub,
      out: new Received<ResultMessage>(helper.getNode('out')),
      caught: new Received<CaughtMessage>(helper.getNode('caught')),
      completed: new Received(helper.getNode('completed')),
      statuses: new Statuses(helper.getNode('cmd')),
    };
  }

  it('pauses a playing player, finishes once it confirms and sends the result', async () => {
    await helper.load(NODES, flow({ command: 'pause' }));
    const { hub, out, completed, caught, statuses } = await ready();
    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });

    helper.getNode('cmd').receive({ payload: 'go', topic: 'bedtime' } as NodeMessage);
    const [result] = await out.atLeast(1);
    expect(result?.payload).to.include({ deviceId: LIVING_ROOM, deviceName: 'Living Room', command: 'pause' });
    expect(result?.payload.confirmedBy).to.be.oneOf(['ack', 'state']);
    expect(result?.topic, 'the rest of the message passes through').to.equal('bedtime');
    expect(hub.devices.get(LIVING_ROOM)?.playback.state).to.equal('paused');
    // done() was called: a complete node on the command node hears of it; no error was reported.
    await completed.atLeast(1);
    expect(caught.messages).to.deep.equal([]);
    await statuses.text('pause confirmed by Living Room');
    expect(statuses.seen.map((s) => s.text)).to.include('sending pause to Living Room');
  });

  it('plays a card named in the message on the player named in msg.device, from typed inputs', async () => {
    await helper.load(NODES, flow({ device: '', command: 'play', cardId: 'story', cardIdType: 'msg', chapterKey: '02', chapterKeyType: 'str' }));
    const { hub, out } = await ready();
    helper.getNode('cmd').receive({ device: 'kids bedroom', story: 'demo1' } as NodeMessage);
    const [result] = await out.atLeast(1);
    expect(result?.payload).to.include({ deviceId: KIDS_BEDROOM, command: 'play' });
    expect(result?.payload.request).to.deep.equal({ command: 'play', card_id: 'demo1', chapter_key: '02' });
    const playback = hub.devices.get(KIDS_BEDROOM)?.playback;
    expect(playback).to.include({ cardId: 'demo1', chapterKey: '02' });
  });

  it('takes a whole command from msg.payload, in the same JSON as yoto/<id>/commands, for the player in msg.device when its own Player is blank', async () => {
    await helper.load(NODES, flow({ command: 'msg', device: '' }));
    const { hub, out } = await ready();
    helper.getNode('cmd').receive({ payload: { command: 'volume', volume: 30 }, device: { id: KIDS_BEDROOM } } as NodeMessage);
    const [result] = await out.atLeast(1);
    expect(result?.payload).to.include({ deviceId: KIDS_BEDROOM, command: 'volume' });
    // The player keeps volume on its 0..16 hardware scale: 30% is the nearest step.
    expect(hub.cloud.virtualCloud?.fleet.player(KIDS_BEDROOM)?.snapshot().volumePercent).to.be.closeTo(30, 100 / 16);
  });

  it('acts on its own Player when one is set, whatever msg.device a yoto-device-in passed along', async () => {
    await helper.load(NODES, flow({ command: 'volume', volume: '20', volumeType: 'num' }));
    const { hub, out } = await ready();
    helper.getNode('cmd').receive({ payload: { type: 'playback_started' }, device: { id: KIDS_BEDROOM, name: 'Kids Bedroom' } } as NodeMessage);
    const [result] = await out.atLeast(1);
    expect(result?.payload).to.include({ deviceId: LIVING_ROOM, command: 'volume' });
    expect((result as NodeMessage & { device?: unknown }).device, 'the output speaks of the player the command went to').to.deep.include({ id: LIVING_ROOM, name: 'Living Room' });
    expect(hub.cloud.virtualCloud?.fleet.player(LIVING_ROOM)?.snapshot().volumePercent).to.be.closeTo(20, 100 / 16);
  });

  it('refuses a volume of 150 before sending, with an error a catch node receives naming the field', async () => {
    await helper.load(NODES, flow({ command: 'volume', volume: 'level', volumeType: 'msg' }));
    const { hub, out, caught, completed, statuses } = await ready();
    const volumeBefore = hub.cloud.virtualCloud?.fleet.player(LIVING_ROOM)?.snapshot().volumePercent;

    helper.getNode('cmd').receive({ level: 150 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.source).to.include({ id: 'cmd', type: 'yoto-device-command' });
    expect(error?.error.message).to.equal('YotoCommandError: volume not sent to Living Room (vliving0room0yoto0player): invalid volume: volume must be <= 100');
    expect(out.messages).to.deep.equal([]);
    expect(completed.messages, 'an error, not a completion').to.deep.equal([]);
    expect(hub.cloud.virtualCloud?.fleet.player(LIVING_ROOM)?.snapshot().volumePercent).to.equal(volumeBefore);
    expect(await statuses.text('volume failed')).to.include({ fill: 'red', shape: 'ring' });
  });

  it('reports an unknown player with the players the hub knows', async () => {
    await helper.load(NODES, flow({ device: 'Attic' }));
    const { caught, out } = await ready();
    helper.getNode('cmd').receive({ payload: 1 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.message).to.equal(
      'YotoCommandError: Unknown player "Attic": no command sent. The hub knows: Living Room (vliving0room0yoto0player), Kids Bedroom (vkids0bedroom0yoto0mini0), Playroom (vplay0room0yoto0player00)',
    );
    expect(out.messages).to.deep.equal([]);
  });

  it('reports a command the player refuses: which player, which command and why', async () => {
    await helper.load(NODES, flow({ device: 'Kids Bedroom', command: 'nightlight', color: '#ff8800', colorType: 'str' }));
    const { caught, statuses } = await ready();
    helper.getNode('cmd').receive({ payload: 1 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.message).to.match(/^YotoCommandError: Kids Bedroom \(vkids0bedroom0yoto0mini0\) did not carry out nightlight: .*refused/);
    await statuses.text('nightlight failed');
  });

  it('names a missing argument', async () => {
    await helper.load(NODES, flow({ command: 'seek', position: '', positionType: 'num' }));
    const { caught } = await ready();
    helper.getNode('cmd').receive({ payload: 1 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.message).to.match(/^YotoCommandError: seek not sent to Living Room \(vliving0room0yoto0player\): invalid position: /);
  });

  it('lists the hub\'s players for the editors, and answers 404 for a hub that is not deployed', async () => {
    await helper.load(NODES, flow({}));
    await ready();
    const response = await helper.request().get('/yoto-hub/hub1/devices').expect(200);
    const body = response.body as { devices: Array<{ id: string; name: string; model: string; online: boolean }> };
    // The default virtual fleet has three players; ready() waited for the two these tests drive to be online.
    expect(body.devices.map((d) => [d.name, d.id, d.model])).to.deep.equal([
      ['Kids Bedroom', KIDS_BEDROOM, 'mini'],
      ['Living Room', LIVING_ROOM, 'v3'],
      ['Playroom', 'vplay0room0yoto0player00', 'v3'],
    ]);
    expect(body.devices.filter((d) => d.id !== 'vplay0room0yoto0player00').every((d) => d.online)).to.equal(true);
    const missing = await helper.request().get('/yoto-hub/nohub/devices').expect(404);
    expect((missing.body as { error: { message: string } }).error.message).to.equal('This Yoto hub is not deployed yet: deploy it to list its players');
  });
});
