import * as http from 'node:http';
import { expect } from 'chai';
import type { NodeMessage } from 'node-red';
import type { Hub } from '../../server/hub';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { describeLeaks, ResourceTracker } from '../helpers/resource-tracker';
import { type FlowNode, hubWithPlayers, KIDS_BEDROOM, Statuses, useHubConfigPerTest } from '../helpers/yoto-node-flows';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-device-in', 'yoto-device-command', 'yoto-play-script', 'yoto-cyoa-branch');

const helper = initNodeRedHelper();
const DEPLOYS = 100;

/** The status code of GET <url>, on a fresh connection that is closed afterwards. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { connection: 'close' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });
}

const REGISTRY_EVENTS = ['event', 'state', 'device-added', 'device-removed'] as const;
const HUB_EVENTS = ['state', 'broker-status', 'cloud-status', 'cloud-sign-in'] as const;

function listenerCounts(hub: Hub): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of REGISTRY_EVENTS) counts[`devices.${name}`] = hub.devices.bus.listenerCount(name);
  for (const name of HUB_EVENTS) counts[`hub.${name}`] = hub.listenerCount(name);
  return counts;
}

describe(`redeploying every Yoto node ${DEPLOYS} times (Node-RED ${nodeRedVersion()})`, function () {
  this.timeout(10 * 60 * 1000);
  const hubConfig = useHubConfigPerTest(helper);

  it('leaves no socket, server, timer or listener behind and the hub answers after every deploy', async () => {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab', label: 'redeploy' } as FlowNode,
      hubConfig().node,
      { id: 'in', type: 'yoto-device-in', z: 'f1', hub: 'hub1', deviceMode: 'all', device: '', emitState: true, wires: [[]] },
      { id: 'cmd', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Kids Bedroom', command: 'pause', outputs: 1, wires: [[]] },
      { id: 'play', type: 'yoto-play-script', z: 'f1', hub: 'hub1', device: 'Kids Bedroom', script: '', wires: [[], []] },
      { id: 'branch', type: 'yoto-cyoa-branch', z: 'f1', hub: 'hub1', mode: 'player', device: KIDS_BEDROOM, timeout: 3600, wires: [[], [], [], []] },
    ];
    const tracker = ResourceTracker.start();
    try {
      await helper.load(NODES, flow);
      let baseline: Record<string, number> | undefined;
      for (let deploy = 1; deploy <= DEPLOYS; deploy++) {
        if (deploy > 1) await helper.setFlows(flow, 'full');
        const hub = await hubWithPlayers(helper, KIDS_BEDROOM);
        // A message waiting in the branch: its listener and its hour-long timer must go with the redeploy.
        const statuses = new Statuses(helper.getNode('branch'));
        helper.getNode('branch').receive({ payload: deploy } as NodeMessage);
        await statuses.text('waiting 3600 s for a choice');
        const status = await statusOf(hub.url);
        expect(status, `deploy ${deploy}: the hub answers`).to.be.within(200, 499);
        const counts = listenerCounts(hub);
        baseline ??= counts;
        expect(counts, `deploy ${deploy}: listeners on the hub`).to.deep.equal(baseline);
      }
      await helper.unload();
      const leaks = await tracker.leaked();
      expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
    } finally {
      tracker.stop();
    }
  });
});
