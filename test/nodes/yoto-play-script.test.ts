import * as path from 'node:path';
import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import type { Hub } from '../../server/hub';
import type { AudioFile } from '../../server/types/schemas';
import { fixturesDir } from '../helpers/fixtures';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { catchAll, type CaughtMessage, type FlowNode, hubWithPlayers, KIDS_BEDROOM, LIVING_ROOM, onTestTab, Received, sinks, Statuses, storeBedtimePlaylist, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-play-script');
const AUDIO = path.join(fixturesDir, 'twine-spyshort', 'audio');

const helper = initNodeRedHelper();

interface PlayMessage extends NodeMessage {
  payload: { scriptId: string; scriptName: string; deviceId: string; deviceName: string; cardId: string; reason?: string; result?: { command: string } };
}

describe(`yoto-play-script node (Node-RED ${nodeRedVersion()})`, function () {
  const hubConfig = useHubConfigPerTest(helper);

  function flow(settings: Record<string, unknown>): FlowNode[] {
    return onTestTab(
      hubConfig,
      { id: 'play', type: 'yoto-play-script', z: 'f1', name: '', hub: 'hub1', device: 'Kids Bedroom', script: '', wires: [['started'], ['finished']], ...settings },
      ...sinks('started', 'finished'),
      ...catchAll(),
    );
  }

  async function ready(): Promise<{ hub: Hub; files: AudioFile[]; started: Received<PlayMessage>; finished: Received<PlayMessage>; caught: Received<CaughtMessage>; statuses: Statuses }> {
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM, LIVING_ROOM);
    const files: AudioFile[] = [];
    for (const name of ['Start.mp3', 'SolveRiddle.mp3', 'SearchElsewhere.mp3']) files.push(await hub.library.files.importFile(path.join(AUDIO, name), { userId: 'node-red', originalName: name }));
    return {
      hub,
      files,
      started: new Received<PlayMessage>(helper.getNode('started')),
      finished: new Received<PlayMessage>(helper.getNode('finished')),
      caught: new Received<CaughtMessage>(helper.getNode('caught')),
      statuses: new Statuses(helper.getNode('play')),
    };
  }

  it('deploys a stored playlist to Kids Bedroom, says "started", then "finished" after a stop', async () => {
    await helper.load(NODES, flow({ script: 'bedtime', volume: '30', sleepSeconds: '1800' }));
    const { hub, files, started, finished, caught, statuses } = await ready();
    await storeBedtimePlaylist(hub, files.map((file) => file.id));

    helper.getNode('play').receive({ payload: 'go', topic: 'bedtime', choice: 'left', branch: { output: 'left' } } as NodeMessage);
    const [start] = await started.atLeast(1);
    expect(caught.messages).to.deep.equal([]);
    expect(start?.payload).to.include({ scriptId: 'bedtime', deviceId: KIDS_BEDROOM, deviceName: 'Kids Bedroom' });
    expect(start?.payload.cardId).to.be.a('string').and.not.equal('');
    expect(start?.topic).to.equal('bedtime');
    expect(start, 'the choice that led to a passage is not passed on to the next branch').to.not.have.any.keys('choice', 'branch');
    expect(hub.devices.get(KIDS_BEDROOM)?.playback.cardId).to.equal(start?.payload.cardId);
    const player = hub.cloud.virtualCloud?.fleet.player(KIDS_BEDROOM)?.snapshot();
    expect(player?.volumePercent).to.be.closeTo(30, 100 / 16);
    expect(player?.sleepTimerSeconds).to.be.a('number');
    await statuses.text('playing Bedtime playlist');
    expect(finished.messages).to.deep.equal([]);

    await hub.cloud.execute(KIDS_BEDROOM, { type: 'stop' });
    const [end] = await finished.atLeast(1);
    expect(end?.payload).to.include({ scriptId: 'bedtime', deviceId: KIDS_BEDROOM, cardId: start?.payload.cardId });
    expect(end?.payload.reason).to.be.oneOf(['playback_stopped', 'card_removed']);
    await statuses.text('finished Bedtime playlist');
    expect(hub.devices.bus.listenerCount('event')).to.be.greaterThan(0);
  });

  it('saves a script object from msg.payload and plays it on the player in msg.device', async () => {
    await helper.load(NODES, flow({ device: '' }));
    const { hub, files, started } = await ready();
    helper.getNode('play').receive({ payload: { name: 'From a flow', type: 'simple', definition: { audioFileId: files[0]!.id } }, device: LIVING_ROOM } as NodeMessage);
    const [start] = await started.atLeast(1);
    expect(start?.payload).to.include({ scriptName: 'From a flow', deviceId: LIVING_ROOM });
    const saved = hub.store.scripts.get(start!.payload.scriptId);
    expect(saved).to.include({ name: 'From a flow', type: 'simple', userId: 'node-red', cardId: start?.payload.cardId });
  });

  it('plays on its own Player when one is set, whatever player msg.device names (as yoto-device-command does)', async () => {
    await helper.load(NODES, flow({}));
    const { files, started } = await ready();
    // The message came from an event on Living Room, e.g. through a yoto-device-in node.
    helper.getNode('play').receive({ payload: { name: 'Lullaby', type: 'simple', definition: { audioFileId: files[0]!.id } }, device: { id: LIVING_ROOM, name: 'Living Room' } } as NodeMessage);
    const [start] = await started.atLeast(1);
    expect(start?.payload).to.include({ scriptName: 'Lullaby', deviceId: KIDS_BEDROOM, deviceName: 'Kids Bedroom' });
  });

  it('plays an audio file as the story compiler writes it (audioFileId, storyId, storyNodeId)', async () => {
    // The library lives in the hub's data directory: import the file, then deploy a flow that names it.
    await helper.load(NODES, flow({}));
    const { files } = await ready();
    await helper.unload();
    await helper.load(NODES, flow({ name: 'Start', audioFileId: files[0]!.id, storyId: 'spy', storyNodeId: 'start', icon: '', waitForEnd: false }));
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM);
    const started = new Received<PlayMessage>(helper.getNode('started'));
    helper.getNode('play').receive({ payload: 'left' } as NodeMessage);
    const [start] = await started.atLeast(1);
    expect(start?.payload).to.include({ scriptId: 'node-red-spy-start', scriptName: 'Start', deviceId: KIDS_BEDROOM });
    expect(hub.store.scripts.get('node-red-spy-start')).to.deep.include({ type: 'simple', definition: { audioFileId: files[0]!.id } });
  });

  it('reports an unknown script to a catch node, naming the scripts the hub has', async () => {
    await helper.load(NODES, flow({}));
    const { caught, started, statuses } = await ready();
    helper.getNode('play').receive({ payload: 'nope' } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.source).to.include({ id: 'play', type: 'yoto-play-script' });
    expect(error?.error.message).to.equal('YotoPlayScriptError: Unknown script "nope": nothing played. The hub has: none');
    expect(started.messages).to.deep.equal([]);
    await statuses.text('failed');
  });

  it('lists the hub\'s scripts for the editor', async () => {
    await helper.load(NODES, flow({}));
    const { hub, files } = await ready();
    await storeBedtimePlaylist(hub, files.map((file) => file.id));
    const response = await helper.request().get('/yoto-hub/hub1/scripts').expect(200);
    expect((response.body as { scripts: Array<{ id: string; name: string; type: string }> }).scripts.map((s) => [s.id, s.name, s.type])).to.deep.equal([['bedtime', 'Bedtime playlist', 'playlist']]);
    const devices = await helper.request().get('/yoto-hub/hub1/devices').expect(200);
    expect((devices.body as { hubUrl: string }).hubUrl).to.equal(hub.url);
  });
});
