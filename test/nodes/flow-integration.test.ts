import * as path from 'node:path';
import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import type { DeviceState } from '../../server/core/device-state';
import type { Hub } from '../../server/hub';
import type { AudioFile } from '../../server/types/schemas';
import { hardwareVolumeToPercent, percentToHardwareVolume } from '../../server/yoto/protocol';
import { fixturesDir } from '../helpers/fixtures';
import { snapshotWhen } from '../helpers/virtual-player';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { type CaughtMessage, type FlowNode, hubWithPlayers, KIDS_BEDROOM, LIVING_ROOM, Received, storeBedtimePlaylist, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-device-in', 'yoto-device-command', 'yoto-play-script');
const AUDIO = path.join(fixturesDir, 'twine-spyshort', 'audio');

const helper = initNodeRedHelper();

interface StartedMessage extends NodeMessage {
  payload: { scriptId: string; scriptName: string; deviceId: string; deviceName: string; cardId: string; result: { command: string }; volume?: { command: string } };
}
interface DeviceMessage extends NodeMessage {
  topic: string;
  payload: Record<string, unknown>;
  device: { id: string; name: string };
}
interface ResultMessage extends NodeMessage {
  topic: string;
  payload: { deviceId: string; deviceName: string; command: string; confirmedBy: string; request: Record<string, unknown> };
  device: { id: string; name: string };
}

/** The hub's model of a player, once `predicate` holds (the registry's `state` events). */
async function deviceReaches(hub: Hub, deviceId: string, predicate: (state: DeviceState) => boolean): Promise<DeviceState> {
  const now = hub.devices.get(deviceId);
  if (now && predicate(now)) return now;
  return new Promise((resolve) => {
    const onState = (state: DeviceState): void => {
      if (state.deviceId !== deviceId || !predicate(state)) return;
      hub.devices.bus.off(onState);
      resolve(state);
    };
    hub.devices.bus.on(onState, 'state', onState);
  });
}

/** The percent a player reports after being asked for `percent`: the nearest of its 16 hardware steps. */
const onPlayerScale = (percent: number): number => hardwareVolumeToPercent(percentToHardwareVolume(percent));

describe(`a flow of yoto-device-in, yoto-play-script and yoto-device-command on the virtual cloud (Node-RED ${nodeRedVersion()})`, function () {
  const hubConfig = useHubConfigPerTest(helper);

  /**
   * play (Kids Bedroom) ──started──▶ started
   * kidsIn (Kids Bedroom, playback_started) ──▶ livingVolume (Living Room volume 20) ──▶ livingResult
   *                                         └─▶ kidsEvents
   * livingIn (Living Room, volume_changed) ──▶ pauseKids (Kids Bedroom pause) ──▶ pauseResult
   *                                        └─▶ livingEvents
   * volumeFromMsg (Living Room volume from msg.level) ──▶ refusedResult
   * catch (all) ──▶ caught
   */
  function flow(): FlowNode[] {
    return [
      { id: 'f1', type: 'tab', label: 'bedtime routine' } as FlowNode,
      hubConfig().node,
      { id: 'play', type: 'yoto-play-script', z: 'f1', name: '', hub: 'hub1', device: 'Kids Bedroom', script: 'bedtime', wires: [['started'], ['finished']] },
      { id: 'started', type: 'helper', z: 'f1' },
      { id: 'finished', type: 'helper', z: 'f1' },

      { id: 'kidsIn', type: 'yoto-device-in', z: 'f1', name: '', hub: 'hub1', deviceMode: 'name', device: 'Kids Bedroom', events: ['playback_started'], emitState: false, wires: [['livingVolume', 'kidsEvents']] },
      { id: 'kidsEvents', type: 'helper', z: 'f1' },
      { id: 'livingVolume', type: 'yoto-device-command', z: 'f1', name: '', hub: 'hub1', device: 'Living Room', command: 'volume', volume: '20', volumeType: 'num', outputs: 1, wires: [['livingResult']] },
      { id: 'livingResult', type: 'helper', z: 'f1' },

      { id: 'livingIn', type: 'yoto-device-in', z: 'f1', name: '', hub: 'hub1', deviceMode: 'id', device: LIVING_ROOM, events: ['volume_changed'], emitState: false, wires: [['pauseKids', 'livingEvents']] },
      { id: 'livingEvents', type: 'helper', z: 'f1' },
      { id: 'pauseKids', type: 'yoto-device-command', z: 'f1', name: '', hub: 'hub1', device: 'Kids Bedroom', command: 'pause', outputs: 1, wires: [['pauseResult']] },
      { id: 'pauseResult', type: 'helper', z: 'f1' },

      { id: 'volumeFromMsg', type: 'yoto-device-command', z: 'f1', name: '', hub: 'hub1', device: 'Living Room', command: 'volume', volume: 'level', volumeType: 'msg', outputs: 1, wires: [['refusedResult']] },
      { id: 'refusedResult', type: 'helper', z: 'f1' },

      { id: 'catch1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
  }

  it('plays a playlist on Kids Bedroom, turns Living Room down to 20% when it starts, then pauses Kids Bedroom; a bad volume reaches Catch', async () => {
    await helper.load(NODES, flow());
    const started = new Received<StartedMessage>(helper.getNode('started'));
    const finished = new Received(helper.getNode('finished'));
    const kidsEvents = new Received<DeviceMessage>(helper.getNode('kidsEvents'));
    const livingResult = new Received<ResultMessage>(helper.getNode('livingResult'));
    const livingEvents = new Received<DeviceMessage>(helper.getNode('livingEvents'));
    const pauseResult = new Received<ResultMessage>(helper.getNode('pauseResult'));
    const refusedResult = new Received(helper.getNode('refusedResult'));
    const caught = new Received<CaughtMessage>(helper.getNode('caught'));

    const hub = await hubWithPlayers(helper, KIDS_BEDROOM, LIVING_ROOM);
    const kids = hub.cloud.virtualCloud?.fleet.player(KIDS_BEDROOM);
    const living = hub.cloud.virtualCloud?.fleet.player(LIVING_ROOM);
    if (!kids || !living) throw new Error('the hub runs without its virtual players');
    const livingBefore = living.snapshot();
    expect(livingBefore.volumePercent, 'Living Room starts louder than 20%, so turning it down is a change').to.be.greaterThan(20);
    expect(kids.snapshot().playbackStatus).to.not.equal('playing');

    // The script: a playlist of three audio files, imported into the hub's library.
    const files: AudioFile[] = [];
    for (const name of ['Start.mp3', 'SolveRiddle.mp3', 'SearchElsewhere.mp3']) files.push(await hub.library.files.importFile(path.join(AUDIO, name), { userId: 'node-red', originalName: name }));
    await storeBedtimePlaylist(hub, files.map((file) => file.id));

    // What an inject node would send: play the node's script, at 40%.
    helper.getNode('play').receive({ payload: 'bedtime', topic: 'bedtime', volume: 40 } as NodeMessage);

    // 1. yoto-play-script deployed the card and said "started".
    const [start] = await started.atLeast(1);
    expect(start?.payload).to.include({ scriptId: 'bedtime', scriptName: 'Bedtime playlist', deviceId: KIDS_BEDROOM, deviceName: 'Kids Bedroom' });
    expect(start?.payload.result.command).to.equal('play');
    expect(start?.payload.volume?.command, 'the volume option went to the player before the card').to.equal('volume');
    const cardId = start?.payload.cardId ?? '';
    expect(cardId).to.be.a('string').and.not.equal('');

    // 2. yoto-device-in heard Kids Bedroom start that card, and yoto-device-command turned Living Room down.
    const kidsStarted = await kidsEvents.find((msg) => msg.payload['type'] === 'playback_started');
    expect(kidsStarted.topic).to.equal(`yoto/${KIDS_BEDROOM}/events`);
    expect(kidsStarted.payload).to.include({ device_id: KIDS_BEDROOM, card_id: cardId });
    expect(kidsStarted.device).to.include({ id: KIDS_BEDROOM, name: 'Kids Bedroom' });
    const [turnedDown] = await livingResult.atLeast(1);
    expect(turnedDown?.payload).to.include({ deviceId: LIVING_ROOM, deviceName: 'Living Room', command: 'volume' });
    expect(turnedDown?.payload.confirmedBy).to.be.oneOf(['ack', 'state']);
    expect(turnedDown?.payload.request).to.deep.equal({ command: 'volume', volume: 20 });
    expect(turnedDown?.topic, 'the device-in message passed through the command node').to.equal(`yoto/${KIDS_BEDROOM}/events`);
    expect(turnedDown?.device, 'msg.device now names the player the command went to').to.include({ id: LIVING_ROOM, name: 'Living Room' });

    // 3. yoto-device-in heard Living Room's volume change, and yoto-device-command paused Kids Bedroom.
    const livingChanged = await livingEvents.find((msg) => msg.payload['type'] === 'volume_changed');
    expect(livingChanged.topic).to.equal(`yoto/${LIVING_ROOM}/events`);
    // 16 steps: 20% is step 3, which the player reports as 19%.
    expect(onPlayerScale(20)).to.equal(19);
    expect(livingChanged.payload).to.include({ device_id: LIVING_ROOM, volume: 19, previous_volume: livingBefore.volumePercent });
    const [paused] = await pauseResult.atLeast(1);
    expect(paused?.payload).to.include({ deviceId: KIDS_BEDROOM, deviceName: 'Kids Bedroom', command: 'pause' });
    expect(paused?.payload.request).to.deep.equal({ command: 'pause' });
    expect(paused?.topic).to.equal(`yoto/${LIVING_ROOM}/events`);

    // The virtual players themselves: Kids Bedroom holds the script's card, at the requested volume, paused;
    // Living Room sits on the step nearest 20%.
    const kidsNow = await snapshotWhen(kids, (snapshot) => snapshot.playbackStatus === 'paused');
    expect(kidsNow).to.include({ cardId, playbackStatus: 'paused', volumePercent: onPlayerScale(40) });
    expect(kidsNow.volumePercent).to.equal(38);
    expect(kidsNow.chapterKey).to.be.a('string');
    expect(living.snapshot().volumePercent).to.equal(19);
    // And the hub's model of them agrees.
    const kidsState = await deviceReaches(hub, KIDS_BEDROOM, (state) => state.playback.state === 'paused');
    expect(kidsState.playback.cardId).to.equal(cardId);
    expect(kidsState.volume?.percent).to.equal(38);
    const livingState = await deviceReaches(hub, LIVING_ROOM, (state) => state.volume?.percent === 19);
    expect(livingState.volume).to.include({ percent: 19, level: 3 });

    // Nothing went wrong so far, and a pause does not end the script's playback.
    expect(caught.messages).to.deep.equal([]);
    expect(finished.messages).to.deep.equal([]);

    // 4. A volume of 150 from the message is refused before anything is sent: Catch gets a clear error.
    helper.getNode('volumeFromMsg').receive({ level: 150 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.source).to.include({ id: 'volumeFromMsg', type: 'yoto-device-command' });
    expect(error?.error.message).to.equal('YotoCommandError: volume not sent to Living Room (vliving0room0yoto0player): invalid volume: volume must be <= 100');
    expect(caught.messages).to.have.length(1);
    expect(refusedResult.messages).to.deep.equal([]);
    expect(living.snapshot().volumePercent, 'the refused volume never reached the player').to.equal(19);

    // Each routine ran once: one start, one volume change, one pause.
    expect(started.messages).to.have.length(1);
    expect(livingResult.messages).to.have.length(1);
    expect(pauseResult.messages).to.have.length(1);
  });
});
