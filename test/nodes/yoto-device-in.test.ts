import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import type { DeviceRegistry } from '../../server/core/device-registry';
import type { Hub } from '../../server/hub';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { type FlowNode, hubWithPlayers, KIDS_BEDROOM, LIVING_ROOM, onTestTab, Received, runningHub, Statuses, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-device-in', 'yoto-device-command');

const helper = initNodeRedHelper();

interface DeviceMessage extends NodeMessage {
  topic: string;
  payload: Record<string, unknown>;
  device: { id: string; name: string; model?: string; online: boolean; battery?: number };
}

const REGISTRY_EVENTS = ['event', 'state', 'device-added', 'device-removed'] as const;

function listenerCounts(hub: Hub): Record<string, number> {
  const registry: DeviceRegistry = hub.devices;
  const counts: Record<string, number> = {};
  for (const name of REGISTRY_EVENTS) counts[`devices.${name}`] = registry.bus.listenerCount(name);
  counts['hub.state'] = hub.listenerCount('state');
  counts['hub.cloud-status'] = hub.listenerCount('cloud-status');
  return counts;
}

describe(`yoto-device-in node (Node-RED ${nodeRedVersion()})`, function () {
  const hubConfig = useHubConfigPerTest(helper);

  function flow(...nodes: FlowNode[]): FlowNode[] {
    return onTestTab(hubConfig, ...nodes);
  }
  function deviceIn(id: string, settings: Record<string, unknown>, wires: string[]): FlowNode {
    return { id, type: 'yoto-device-in', z: 'f1', name: '', hub: 'hub1', deviceMode: 'all', device: '', emitState: false, wires: [wires], ...settings };
  }
  function sink(id: string): FlowNode {
    return { id, type: 'helper', z: 'f1' };
  }

  it('sends card_inserted and playback_started, as the house sees them on MQTT, when a player starts a card', async () => {
    await helper.load(NODES, flow(deviceIn('in1', { events: ['card_inserted', 'playback_started'] }, ['out']), sink('out')));
    const out = new Received<DeviceMessage>(helper.getNode('out'));
    const statuses = new Statuses(helper.getNode('in1'));
    const hub = await hubWithPlayers(helper, LIVING_ROOM);

    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });
    const [inserted, started] = await out.atLeast(2);

    expect(inserted?.topic).to.equal(`yoto/${LIVING_ROOM}/events`);
    expect(inserted?.payload).to.include({ type: 'card_inserted', device_id: LIVING_ROOM, card_id: 'demo1' });
    expect(inserted?.device).to.include({ id: LIVING_ROOM, name: 'Living Room', model: 'v3', online: true });
    expect(started?.topic).to.equal(`yoto/${LIVING_ROOM}/events`);
    expect(started?.payload).to.include({ type: 'playback_started', card_id: 'demo1', chapter_key: '01', resumed: false });
    expect(started?.payload['timestamp']).to.be.a('string');

    // The status shows how many followed players are online and the last event, in the locale's words.
    expect(await statuses.text('3 of 3 online · playback_started')).to.deep.equal({ fill: 'green', shape: 'dot', text: '3 of 3 online · playback_started' });
  });

  it('passes on only the chosen player and event kinds', async () => {
    await helper.load(
      NODES,
      flow(
        deviceIn('kidsOnly', { deviceMode: 'id', device: KIDS_BEDROOM }, ['kids']),
        deviceIn('livingPauses', { deviceMode: 'name', device: 'living room', events: ['playback_paused'] }, ['pauses']),
        sink('kids'),
        sink('pauses'),
      ),
    );
    const kids = new Received<DeviceMessage>(helper.getNode('kids'));
    const kidsStatus = new Statuses(helper.getNode('kidsOnly'));
    const pauses = new Received<DeviceMessage>(helper.getNode('pauses'));
    const hub = await hubWithPlayers(helper, LIVING_ROOM, KIDS_BEDROOM);

    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });
    await hub.cloud.execute(LIVING_ROOM, { type: 'pause' });
    const paused = await pauses.find((msg) => msg.payload['type'] === 'playback_paused');
    expect(paused.device.name).to.equal('Living Room');

    // The Kids Bedroom node heard nothing of the Living Room; it hears its own player.
    await hub.cloud.execute(KIDS_BEDROOM, { type: 'play', cardId: 'demo1' });
    await kids.find((msg) => msg.payload['type'] === 'playback_started');
    expect(kids.messages.map((msg) => msg.payload['device_id'])).to.satisfy((ids: unknown[]) => ids.every((id) => id === KIDS_BEDROOM));
    expect(kids.messages.map((msg) => msg.payload['type'])).to.include('card_inserted');
    // The paused-only node passed on nothing but the pause (card_inserted, playback_started came before it).
    expect(pauses.messages.map((msg) => msg.payload['type'])).to.deep.equal(['playback_paused']);
    expect(pauses.messages.map((msg) => msg.topic)).to.deep.equal([`yoto/${LIVING_ROOM}/events`]);

    expect(await kidsStatus.text('online · playback_started')).to.include({ fill: 'green', shape: 'dot' });
  });

  it('sets its status again only when the last event or the players online change, not for every event', async () => {
    await helper.load(NODES, flow(deviceIn('in1', { events: ['volume_changed'] }, ['out']), sink('out')));
    const out = new Received<DeviceMessage>(helper.getNode('out'));
    const statuses = new Statuses(helper.getNode('in1'));
    const hub = await hubWithPlayers(helper, LIVING_ROOM, KIDS_BEDROOM);
    const living = hub.cloud.virtualCloud!.fleet.player(LIVING_ROOM)!;

    // Three volume changes: three messages, one status naming the event.
    for (const steps of [2, -1, 3]) await living.turnVolume(steps);
    await out.atLeast(3);
    expect(out.messages.map((msg) => msg.payload['type'])).to.deep.equal(['volume_changed', 'volume_changed', 'volume_changed']);
    await statuses.text('3 of 3 online · volume_changed');
    // The three changes go through the node before its next status: nothing else was shown for them.
    await hub.cloud.virtualCloud!.fleet.player(KIDS_BEDROOM)!.powerOff();
    expect(await statuses.text('2 of 3 online · volume_changed')).to.include({ fill: 'green', shape: 'dot' });
    expect(statuses.seen.filter((status) => status.text === '3 of 3 online · volume_changed')).to.have.length(1);
  });

  it('sends each player\'s current status and playback on deploy when asked', async () => {
    await helper.load(NODES, flow(deviceIn('in1', { emitState: true, events: ['card_inserted'] }, ['out']), sink('out')));
    const out = new Received<DeviceMessage>(helper.getNode('out'));
    const messages = await out.atLeast(4);
    const topics = messages.map((msg) => msg.topic).sort();
    expect(topics).to.deep.equal(
      [`yoto/${KIDS_BEDROOM}/playback`, `yoto/${KIDS_BEDROOM}/status`, `yoto/${LIVING_ROOM}/playback`, `yoto/${LIVING_ROOM}/status`].sort(),
    );
    const livingStatus = messages.find((msg) => msg.topic === `yoto/${LIVING_ROOM}/status`);
    expect(livingStatus?.payload).to.include({ status: 'idle', online: true, name: 'Living Room' });
    const kidsPlayback = messages.find((msg) => msg.topic === `yoto/${KIDS_BEDROOM}/playback`);
    expect(kidsPlayback?.payload).to.include({ state: 'idle' });
    expect(kidsPlayback?.device).to.include({ id: KIDS_BEDROOM, name: 'Kids Bedroom', model: 'mini' });
  });

  it('does not send the current state unless asked', async () => {
    await helper.load(NODES, flow(deviceIn('in1', { emitState: false }, ['out']), sink('out')));
    const out = new Received<DeviceMessage>(helper.getNode('out'));
    const hub = await hubWithPlayers(helper, LIVING_ROOM, KIDS_BEDROOM);
    await hub.cloud.execute(KIDS_BEDROOM, { type: 'volume', percent: 70 });
    const first = await out.atLeast(1);
    expect(first.map((msg) => msg.topic)).to.deep.equal([`yoto/${KIDS_BEDROOM}/events`]);
    expect(first[0]?.payload).to.include({ type: 'volume_changed' });
  });

  it('removes every listener it added when its flow is stopped, while the hub keeps running', async () => {
    await helper.load(NODES, flow());
    const hub = await runningHub(helper.getNode('hub1'));
    const before = listenerCounts(hub);

    const withNodes = flow(
      deviceIn('in1', {}, ['out']),
      deviceIn('in2', { deviceMode: 'id', device: LIVING_ROOM, emitState: true }, ['out']),
      { id: 'cmd1', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: LIVING_ROOM, command: 'pause', outputs: 1, wires: [[]] },
      sink('out'),
    );
    await helper.setFlows(withNodes, 'nodes');
    expect(helper.getNode('hub1')).to.have.property('hub', hub);
    const during = listenerCounts(hub);
    expect(during['devices.event']).to.equal((before['devices.event'] ?? 0) + 2);

    await helper.setFlows(flow(), 'nodes');
    expect(helper.getNode('hub1')).to.have.property('hub', hub);
    expect(listenerCounts(hub)).to.deep.equal(before);
  });
});
