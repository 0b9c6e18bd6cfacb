import { expect } from 'chai';
import type { Node, NodeMessage } from 'node-red';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { describeLeaks, ResourceTracker } from '../helpers/resource-tracker';
import { type FlowNode, hubWithPlayers, KIDS_BEDROOM, LIVING_ROOM, onTestTab, Received, runningHub, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-current-state', 'yoto-wait-until');

const helper = initNodeRedHelper();

interface StateMessage extends NodeMessage {
  payload: { deviceId: string; playback: string; card: string; dayMode?: string };
  settings?: Record<string, unknown>;
}

describe(`yoto current state and yoto wait until nodes (Node-RED ${nodeRedVersion()})`, function () {
  const hubConfig = useHubConfigPerTest(helper);
  const flow = (...nodes: FlowNode[]): FlowNode[] => onTestTab(hubConfig, ...nodes);
  const sink = (id: string): FlowNode => ({ id, type: 'helper', z: 'f1' });
  const currentState = (settings: Record<string, unknown>, wires: string[][]): FlowNode => ({
    id: 'state', type: 'yoto-current-state', z: 'f1', name: '', hub: 'hub1', device: LIVING_ROOM, haltIf: false, property: 'playback', operator: 'is', value: '', withSettings: false, outputs: wires.length, wires, ...settings,
  });
  const waitUntil = (settings: Record<string, unknown>): FlowNode => ({
    id: 'wait', type: 'yoto-wait-until', z: 'f1', name: '', hub: 'hub1', device: KIDS_BEDROOM, property: 'playback', operator: 'is', value: 'playing', forSeconds: 0, timeout: 0, checkCurrent: true, wires: [['met'], ['late']], ...settings,
  });

  it('current state sends the cached state, and with "if state is" routes by it to two outputs', async () => {
    await helper.load(NODES, flow(currentState({ haltIf: true, property: 'card', operator: 'is', value: 'demo1' }, [['yes'], ['no']]), sink('yes'), sink('no')));
    const yes = new Received<StateMessage>(helper.getNode('yes'));
    const no = new Received<StateMessage>(helper.getNode('no'));
    const hub = await hubWithPlayers(helper, LIVING_ROOM);
    helper.getNode('state').receive({ payload: 'go' } as NodeMessage);
    const [idle] = await no.atLeast(1);
    expect(idle!.payload).to.include({ deviceId: LIVING_ROOM, card: 'none' });
    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });
    helper.getNode('state').receive({ payload: 'go' } as NodeMessage);
    const [playing] = await yes.atLeast(1);
    expect(playing!.payload).to.include({ card: 'demo1', playback: 'playing' });
    expect(no.messages).to.have.length(1);
  });

  it('current state reads settings into msg.settings and writes a partial msg.settings, keeping the others', async () => {
    await helper.load(NODES, flow(currentState({ withSettings: true }, [['out']]), sink('out')));
    const out = new Received<StateMessage>(helper.getNode('out'));
    const hub = await runningHub(helper.getNode('hub1'));
    helper.getNode('state').receive({ payload: 'read' } as NodeMessage);
    const [read] = await out.atLeast(1);
    expect(read!.settings).to.include({ nightMaxVolume: 10, dayMaxVolume: 16 });
    helper.getNode('state').receive({ payload: 'write', settings: { nightMaxVolume: 5 } } as NodeMessage);
    const [, written] = await out.atLeast(2);
    expect(written!.settings).to.include({ nightMaxVolume: 5, dayMaxVolume: 16, dayTime: '07:00' });
    expect(hub.cloud.virtualCloud!.devices.config(LIVING_ROOM).config.nightMaxVolumeLimit).to.equal('5');
  });

  it('wait until passes the message once the player plays, by the first output', async () => {
    await helper.load(NODES, flow(waitUntil({}), sink('met'), sink('late')));
    const met = new Received<StateMessage>(helper.getNode('met'));
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM);
    helper.getNode('wait').receive({ payload: 'waiting', topic: 'mine' } as NodeMessage);
    await hub.cloud.execute(KIDS_BEDROOM, { type: 'play', cardId: 'demo1' });
    const [passed] = await met.atLeast(1);
    expect(passed!.topic).to.equal('mine');
    expect(passed!.payload).to.include({ deviceId: KIDS_BEDROOM, playback: 'playing' });
  });

  it('wait until holds a message until headphones are plugged into the player', async () => {
    await helper.load(NODES, flow(waitUntil({ property: 'headphones', value: 'true' }), sink('met'), sink('late')));
    const met = new Received<StateMessage & { payload: { headphones?: boolean; cardSlot?: string } }>(helper.getNode('met'));
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM);
    helper.getNode('wait').receive({ payload: 'quieter please' } as NodeMessage);
    await hub.cloud.virtualCloud!.fleet.player(KIDS_BEDROOM)!.setHeadphones(true);
    const [passed] = await met.atLeast(1);
    expect(passed!.payload).to.include({ deviceId: KIDS_BEDROOM, headphones: true, bluetoothAudio: false, cardSlot: 'none' });
  });

  it('wait until sends by the second output after its timeout', async () => {
    await helper.load(NODES, flow(waitUntil({ value: 'paused', timeout: 0.2 }), sink('met'), sink('late')));
    const late = new Received<StateMessage>(helper.getNode('late'));
    const met = new Received<StateMessage>(helper.getNode('met'));
    await hubWithPlayers(helper, KIDS_BEDROOM);
    helper.getNode('wait').receive({ payload: 'waiting' } as NodeMessage);
    const [timedOut] = await late.atLeast(1);
    expect(timedOut!.payload.deviceId).to.equal(KIDS_BEDROOM);
    expect(met.messages).to.have.length(0);
  });

  it('wait until: "for N seconds" needs the condition to hold that long', async () => {
    await helper.load(NODES, flow(waitUntil({ value: 'playing', forSeconds: 0.3 }), sink('met'), sink('late')));
    const met = new Received<StateMessage>(helper.getNode('met'));
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM);
    helper.getNode('wait').receive({ payload: 'waiting' } as NodeMessage);
    await hub.cloud.execute(KIDS_BEDROOM, { type: 'play', cardId: 'demo1' });
    const [passed] = await met.atLeast(1);
    const state = hub.devices.get(KIDS_BEDROOM)!;
    expect(state.playback.state, 'still playing when it passed').to.equal('playing');
    expect(passed!.payload.playback).to.equal('playing');
  });

  it('a redeploy with a pending wait drops it and leaves no timer or listener behind', async () => {
    await helper.load(NODES, flow(waitUntil({ value: 'paused', timeout: 3600, forSeconds: 0 }), sink('met'), sink('late')));
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM);
    const listenersBefore = hub.devices.bus.stats().listeners;
    const tracker = ResourceTracker.start();
    try {
      helper.getNode('wait').receive({ payload: 'waiting' } as NodeMessage);
      expect(hub.devices.bus.stats().listeners, 'the wait listens to the player').to.equal(listenersBefore + 1);
      // What a redeploy does to the node: close it.
      await (helper.getNode('wait') as Node & { close(removed: boolean): Promise<void> }).close(true);
      expect(hub.devices.bus.stats().listeners).to.equal(listenersBefore);
      const leaks = (await tracker.leaked()).filter((leak) => leak.stack.includes('yoto-wait-until'));
      expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
    } finally {
      tracker.stop();
    }
  });
});
