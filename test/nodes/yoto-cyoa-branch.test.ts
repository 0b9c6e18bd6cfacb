import * as path from 'node:path';
import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import { fixturesDir } from '../helpers/fixtures';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { type FlowNode, hubWithPlayers, KIDS_BEDROOM, LIVING_ROOM, onTestTab, Received, sinks, Statuses, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-play-script', 'yoto-cyoa-branch');
const AUDIO = path.join(fixturesDir, 'twine-spyshort', 'audio');

const helper = initNodeRedHelper();

interface BranchMessage extends NodeMessage {
  choice: string;
  branch: { choice: string; output: string; by: string; event?: { type: string } };
}

describe(`yoto-cyoa-branch node (Node-RED ${nodeRedVersion()})`, function () {
  const hubConfig = useHubConfigPerTest(helper);

  /** play -> branch; the branch's four outputs to helpers. */
  function flow(branch: Record<string, unknown>): FlowNode[] {
    return onTestTab(
      hubConfig,
      { id: 'play', type: 'yoto-play-script', z: 'f1', hub: 'hub1', device: 'Kids Bedroom', script: 'chapters', wires: [['branch'], []] },
      { id: 'branch', type: 'yoto-cyoa-branch', z: 'f1', hub: 'hub1', mode: 'player', device: KIDS_BEDROOM, timeout: 0, wires: [['left'], ['right'], ['end'], ['timeout']], ...branch },
      ...sinks('left', 'right', 'end', 'timeout'),
    );
  }

  function outputs(): Record<'left' | 'right' | 'end' | 'timeout', Received<BranchMessage>> {
    return {
      left: new Received<BranchMessage>(helper.getNode('left')),
      right: new Received<BranchMessage>(helper.getNode('right')),
      end: new Received<BranchMessage>(helper.getNode('end')),
      timeout: new Received<BranchMessage>(helper.getNode('timeout')),
    };
  }

  it('routes by msg.choice (messages only, no hub needed)', async () => {
    await helper.load(NODES, flow({ mode: 'message', hub: '', device: '' }));
    const out = outputs();
    const branch = helper.getNode('branch');
    branch.receive({ choice: 'right', payload: 1 } as NodeMessage);
    branch.receive({ choice: 'left', payload: 2 } as NodeMessage);
    branch.receive({ choice: 'end', payload: 3 } as NodeMessage);
    branch.receive({ choice: 'default', payload: 4 } as NodeMessage);
    const [right] = await out.right.atLeast(1);
    const [left] = await out.left.atLeast(1);
    const ends = await out.end.atLeast(2);
    expect(right?.payload).to.equal(1);
    expect(left?.payload).to.equal(2);
    expect(ends.map((m) => m.payload)).to.deep.equal([3, 4]);
    expect(right?.branch).to.deep.include({ choice: 'right', output: 'right', by: 'message' });
    expect(out.timeout.messages).to.deep.equal([]);
  });

  it('lets a later message choose for the one waiting, and times out when nobody chooses', async () => {
    await helper.load(NODES, flow({ mode: 'message', hub: '', device: '', timeout: 0.2 }));
    const out = outputs();
    const branch = helper.getNode('branch');
    branch.receive({ payload: 'passage 1' } as NodeMessage);
    branch.receive({ payload: 'right' } as NodeMessage);
    const [chosen] = await out.right.atLeast(1);
    expect(chosen?.payload, 'the waiting message leaves; the chooser only chooses').to.equal('passage 1');

    branch.receive({ payload: 'passage 2' } as NodeMessage);
    const [late] = await out.timeout.atLeast(1);
    expect(late?.payload).to.equal('passage 2');
    expect(late?.branch).to.deep.include({ choice: 'timeout', output: 'timeout', by: 'timeout' });
    expect(out.right.messages).to.have.length(1);
  });

  it('waits for the player: a right press on a playing card leaves by right, a stop by end', async () => {
    await helper.load(NODES, flow({}));
    const hub = await hubWithPlayers(helper, KIDS_BEDROOM, LIVING_ROOM);
    const files = [];
    for (const name of ['Start.mp3', 'SolveRiddle.mp3', 'SearchElsewhere.mp3']) files.push(await hub.library.files.importFile(path.join(AUDIO, name), { userId: 'node-red' }));
    const at = new Date().toISOString();
    await hub.store.scripts.insert({ id: 'chapters', userId: 'node-red', name: 'Chapters', type: 'playlist', definition: { tracks: files.map((f) => ({ audioFileId: f.id })) }, createdAt: at, updatedAt: at });
    const out = outputs();
    const statuses = new Statuses(helper.getNode('branch'));
    const before = hub.devices.bus.listenerCount('event');

    helper.getNode('play').receive({ payload: 'start', topic: 'story' } as NodeMessage);
    await statuses.text('waiting for a choice');
    expect(hub.devices.bus.listenerCount('event')).to.equal(before + 2); // play-script's finish watch + the branch
    await hub.cloud.virtualCloud!.fleet.player(KIDS_BEDROOM)!.press('right');
    const [right] = await out.right.atLeast(1);
    expect(right?.topic).to.equal('story');
    expect(right?.branch).to.deep.include({ choice: 'right', by: 'player' });
    expect(right?.branch.event?.type).to.equal('track_changed');
    expect(hub.devices.bus.listenerCount('event'), 'the branch stopped listening').to.equal(before + 1);

    // The next message waits again; stopping the player ends the passage.
    helper.getNode('branch').receive({ payload: 'next' } as NodeMessage);
    await hub.cloud.execute(KIDS_BEDROOM, { type: 'stop' });
    const [end] = await out.end.atLeast(1);
    expect(end?.payload).to.equal('next');
    expect(end?.branch.event?.type).to.be.oneOf(['playback_stopped', 'card_removed']);
    expect(out.left.messages).to.deep.equal([]);
  });
});
