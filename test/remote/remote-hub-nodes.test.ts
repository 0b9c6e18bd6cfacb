import { expect } from 'chai';
import type { Node, NodeMessage } from 'node-red';
import type { WebSocket } from 'ws';
import { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import type { RemoteHubClient } from '../../server/remote/remote-hub-client';
import type { YotoHubNode } from '../../nodes/shared/yoto-hub-node';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { describeLeaks, ResourceTracker } from '../helpers/resource-tracker';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { catchAll, type CaughtMessage, type FlowNode, KIDS_BEDROOM, LIVING_ROOM, playbackKnown, Received, sinks, Statuses } from '../helpers/yoto-node-flows';
import { call, onboardAdmin } from '../hub/api-world';
import { DEMO_IDS } from '../../server/demo/demo-content';
import { liveMode } from '../helpers/day-mode';

// The compiled nodes, as Node-RED loads them from package.json's node-red.nodes.
const NODES = yotoNodes('yoto-hub', 'yoto-device-in', 'yoto-device-command', 'yoto-current-state', 'yoto-wait-until', 'yoto-play-script', 'yoto-announce');

const helper = initNodeRedHelper();

interface DeviceMessage extends NodeMessage {
  topic: string;
  payload: Record<string, unknown>;
  device: { id: string; name: string; model?: string; online: boolean };
}

/** The yoto-hub node's client once it is connected and subscribed. */
async function connected(node: Node | undefined): Promise<RemoteHubClient> {
  const client = (node as unknown as YotoHubNode | undefined)?.client as RemoteHubClient | undefined;
  if (!client) throw new Error('the yoto-hub node has no client');
  if (client.state !== 'running') await new Promise<void>((resolve) => client.on('state', (state) => state === 'running' && resolve()));
  return client;
}

/** Resolves once every WebSocket the hub server holds has closed. */
async function socketsClosed(hub: Hub): Promise<void> {
  if (hub.state !== 'running') return;
  await Promise.all([...hub.http.wss.clients].map((ws: WebSocket) => (ws.readyState === ws.CLOSED ? undefined : new Promise((resolve) => ws.once('close', resolve)))));
}

describe(`Yoto nodes on a remote hub server (Node-RED ${nodeRedVersion()})`, function () {
  let hub: Hub;
  let apiToken: string;
  let adminToken: string;

  before(async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
    hub = await startTestHub({ demoContent: true });
    adminToken = (await onboardAdmin(hub)).accessToken;
    const created = await call(hub, 'POST', '/api/auth/tokens', adminToken, { name: 'node-red' });
    expect(created.status, created.text).to.equal(201);
    apiToken = (created.json as { token: string }).token;
    await playbackKnown(hub, LIVING_ROOM);
    await playbackKnown(hub, KIDS_BEDROOM);
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await stopTestHub(hub);
  });
  afterEach(async () => {
    await helper.unload();
    await socketsClosed(hub);
  });

  /** A flow on tab f1 with a yoto-hub in Remote hub mode (hub1) pointing at the hub server, then `nodes`. */
  function flow(...nodes: FlowNode[]): FlowNode[] {
    return [{ id: 'f1', type: 'tab', label: 'remote' } as FlowNode, { id: 'hub1', type: 'yoto-hub', name: 'Remote', mode: 'remote', remoteUrl: hub.url } as FlowNode, ...nodes];
  }
  const credentials = (token = apiToken): Record<string, unknown> => ({ hub1: { apiToken: token } });

  it('yoto-device-in gets a virtual player\'s events from the hub server, as from a local hub', async () => {
    await helper.load(NODES, flow({ id: 'in1', type: 'yoto-device-in', z: 'f1', hub: 'hub1', deviceMode: 'all', device: '', events: ['card_inserted', 'playback_started'], emitState: false, wires: [['out']] }, ...sinks('out')), credentials());
    const out = new Received<DeviceMessage>(helper.getNode('out'));
    const statuses = new Statuses(helper.getNode('in1'));
    await connected(helper.getNode('hub1'));

    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });
    const inserted = await out.find((msg) => msg.payload['type'] === 'card_inserted');
    const started = await out.find((msg) => msg.payload['type'] === 'playback_started');
    expect(inserted.topic).to.equal(`yoto/${LIVING_ROOM}/events`);
    expect(inserted.payload).to.include({ type: 'card_inserted', device_id: LIVING_ROOM, card_id: 'demo1' });
    expect(inserted.device).to.include({ id: LIVING_ROOM, name: 'Living Room', model: 'v3', online: true });
    expect(started.payload).to.include({ type: 'playback_started', card_id: 'demo1', chapter_key: '01' });
    expect(await statuses.text('3 of 3 online · playback_started')).to.include({ fill: 'green' });
  });

  it('yoto-device-command reaches the player through the hub server, and yoto-current-state reads it back', async () => {
    await helper.load(
      NODES,
      flow(
        { id: 'cmd', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Living Room', command: 'volume', volume: '25', volumeType: 'num', outputs: 1, wires: [['out']] },
        { id: 'state', type: 'yoto-current-state', z: 'f1', hub: 'hub1', device: LIVING_ROOM, outputs: 1, wires: [['read']] },
        { id: 'wait', type: 'yoto-wait-until', z: 'f1', hub: 'hub1', device: LIVING_ROOM, property: 'playback', operator: 'is', value: 'paused', forSeconds: 0, timeout: 0, checkCurrent: true, wires: [['paused'], []] },
        ...sinks('out', 'read', 'paused'),
      ),
      credentials(),
    );
    const out = new Received<NodeMessage & { payload: Record<string, unknown>; device: { id: string } }>(helper.getNode('out'));
    const read = new Received<NodeMessage & { payload: Record<string, unknown> }>(helper.getNode('read'));
    const paused = new Received(helper.getNode('paused'));
    const client = await connected(helper.getNode('hub1'));
    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });

    helper.getNode('wait').receive({ payload: 'until paused' } as NodeMessage);
    helper.getNode('cmd').receive({ payload: 'go' } as NodeMessage);
    const [result] = await out.atLeast(1);
    expect(result?.payload).to.include({ deviceId: LIVING_ROOM, command: 'volume', deviceName: 'Living Room' });
    expect(result?.device.id).to.equal(LIVING_ROOM);
    expect(hub.cloud.virtualCloud?.fleet.player(LIVING_ROOM)?.snapshot().volumePercent).to.be.closeTo(25, 100 / 16);

    // The mirror follows the player: its volume, then a pause the wait-until node was waiting for.
    const volumeFollowed = (): boolean => Math.abs((client.devices.get(LIVING_ROOM)?.volume?.percent ?? -100) - 25) <= 100 / 16;
    if (!volumeFollowed()) {
      await new Promise<void>((resolve) => {
        const owner = {};
        client.devices.bus.on(owner, 'state', () => {
          if (!volumeFollowed()) return;
          client.devices.bus.off(owner);
          resolve();
        });
      });
    }
    helper.getNode('state').receive({ payload: 'read' } as NodeMessage);
    const [view] = await read.atLeast(1);
    expect(view?.payload).to.include({ deviceId: LIVING_ROOM, name: 'Living Room', playback: 'playing', card: 'demo1', online: true });
    expect(view?.payload['volume']).to.be.closeTo(25, 100 / 16);
    await hub.cloud.execute(LIVING_ROOM, { type: 'pause' });
    await paused.atLeast(1);
  });

  it('a command the hub server refuses reaches done(err) and a Catch node, worded for the user', async () => {
    await helper.load(
      NODES,
      flow({ id: 'cmd', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Kids Bedroom', command: 'nightlight', color: '#ff8800', colorType: 'str', outputs: 1, wires: [['out']] }, ...catchAll(), ...sinks('out')),
      credentials(),
    );
    const caught = new Received<CaughtMessage>(helper.getNode('caught'));
    const statuses = new Statuses(helper.getNode('cmd'));
    await connected(helper.getNode('hub1'));
    helper.getNode('cmd').receive({ payload: 1 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.source).to.include({ id: 'cmd', type: 'yoto-device-command' });
    expect(error?.error.message).to.match(/^YotoCommandError: Kids Bedroom \(vkids0bedroom0yoto0mini0\) did not carry out nightlight: .*refused/);
    expect(await statuses.text('nightlight failed')).to.include({ fill: 'red' });
  });

  it('says so on the nodes when the API token is refused from the start, or the URL is wrong', async () => {
    const nodes = (): FlowNode[] => flow({ id: 'cmd', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Living Room', command: 'pause', outputs: 0, wires: [] });
    await helper.load(NODES, nodes(), credentials('yhub_made-up_token'));
    expect(await new Statuses(helper.getNode('cmd')).text('API token refused')).to.include({ fill: 'red' });
    await helper.unload();
    await helper.load(NODES, [{ id: 'f1', type: 'tab', label: 'remote' } as FlowNode, { id: 'hub1', type: 'yoto-hub', mode: 'remote', remoteUrl: 'ftp://hub.local' } as FlowNode, ...nodes().slice(2)], credentials());
    expect(await new Statuses(helper.getNode('cmd')).text('misconfigured')).to.include({ fill: 'red' });
  });

  it('shows a revoked API token on the nodes, and works again with a new one', async () => {
    const created = await call(hub, 'POST', '/api/auth/tokens', adminToken, { name: 'soon revoked' });
    const { id, token } = created.json as { id: string; token: string };
    const nodes = (): FlowNode[] => flow({ id: 'cmd', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Living Room', command: 'pause', outputs: 0, wires: [] }, ...catchAll());
    await helper.load(NODES, nodes(), credentials(token));
    const cmdStatuses = new Statuses(helper.getNode('cmd'));
    await connected(helper.getNode('hub1'));
    expect((await call(hub, 'DELETE', `/api/auth/tokens/${id}`, adminToken)).status).to.equal(204);
    expect(await cmdStatuses.text('API token refused')).to.include({ fill: 'red' });
    const caught = new Received<CaughtMessage>(helper.getNode('caught'));
    helper.getNode('cmd').receive({ payload: 1 } as NodeMessage);
    const [error] = await caught.atLeast(1);
    expect(error?.error.message).to.match(/not running/);

    await helper.unload();
    await helper.load(NODES, nodes(), credentials());
    await connected(helper.getNode('hub1'));
  });

  it('yoto-play-script deploys a hub script through the hub server and says when it finished', async () => {
    await helper.load(
      NODES,
      flow({ id: 'play', type: 'yoto-play-script', z: 'f1', hub: 'hub1', device: 'Kids Bedroom', script: DEMO_IDS.scripts.start, wires: [['started'], ['finished']] }, ...sinks('started', 'finished')),
      credentials(),
    );
    const started = new Received<NodeMessage & { payload: { scriptId: string; cardId: string; deviceId: string } }>(helper.getNode('started'));
    const finished = new Received<NodeMessage & { payload: { reason: string } }>(helper.getNode('finished'));
    await connected(helper.getNode('hub1'));
    helper.getNode('play').receive({ payload: 'go' } as NodeMessage);
    const [start] = await started.atLeast(1);
    expect(start?.payload).to.include({ scriptId: DEMO_IDS.scripts.start, deviceId: KIDS_BEDROOM });
    expect(hub.devices.get(KIDS_BEDROOM)?.playback.cardId).to.equal(start?.payload.cardId);
    await hub.cloud.execute(KIDS_BEDROOM, { type: 'stop' });
    const [end] = await finished.atLeast(1);
    expect(end?.payload.reason).to.be.oneOf(['playback_stopped', 'card_removed']);
  });

  it('yoto-announce says a text on a player through the hub server and sends its outcome when it is done', async () => {
    // Night mode refuses normal announcements: the player is kept in day mode whatever the time.
    await hub.settings.update(LIVING_ROOM, { dayTime: '00:00', nightTime: '23:59' });
    await liveMode(hub, LIVING_ROOM, 'day');
    await helper.load(
      NODES,
      flow({ id: 'announce', type: 'yoto-announce', z: 'f1', hub: 'hub1', devices: 'Living Room', source: 'payload', value: '', volume: '30', priority: 'normal', chime: false, wires: [['out']] }, ...sinks('out')),
      credentials(),
    );
    const out = new Received<NodeMessage & { payload: { announcementId: string; deviceId: string; status: string } }>(helper.getNode('out'));
    await connected(helper.getNode('hub1'));
    helper.getNode('announce').receive({ payload: 'Dinner is ready' } as NodeMessage);
    const [done] = await out.atLeast(1);
    expect(done?.payload).to.include({ deviceId: LIVING_ROOM, status: 'finished' });
    expect(hub.announcements.get(done!.payload.announcementId)).to.include({ source: 'api' });
  });

  it('fills the editors\' player, card and script lists and the sidebar from the remote hub; Yoto sign-in is the server\'s', async () => {
    await helper.load(NODES, flow(), credentials());
    await connected(helper.getNode('hub1'));
    const devices = await helper.request().get('/yoto-hub/hub1/devices').expect(200);
    const body = devices.body as { devices: Array<{ id: string; name: string }>; hubUrl: string; hubName: string };
    expect(body.devices.map((d) => d.name)).to.deep.equal(['Kids Bedroom', 'Living Room', 'Playroom']);
    expect(body).to.include({ hubUrl: hub.url, hubName: 'Remote' });
    const scripts = await helper.request().get('/yoto-hub/hub1/scripts').expect(200);
    expect((scripts.body as { scripts: Array<{ id: string }> }).scripts.map((s) => s.id)).to.include(DEMO_IDS.scripts.start);
    const cards = await helper.request().get('/yoto-hub/hub1/cards').expect(200);
    expect((cards.body as { cards: Array<{ id: string }> }).cards.map((c) => c.id)).to.include('demo1');
    const signIn = await helper.request().post('/yoto-hub/hub1/sign-in').send({}).expect(409);
    expect((signIn.body as { error: { message: string } }).error.message).to.include(hub.url);
  });

  it('redeploys leave no socket, timer or listener behind, on Node-RED\'s side or the hub server\'s', async () => {
    const nodes = flow(
      { id: 'in1', type: 'yoto-device-in', z: 'f1', hub: 'hub1', deviceMode: 'all', device: '', emitState: true, wires: [[]] },
      { id: 'cmd', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Living Room', command: 'pause', outputs: 0, wires: [] },
      { id: 'wait', type: 'yoto-wait-until', z: 'f1', hub: 'hub1', device: LIVING_ROOM, property: 'card', operator: 'is', value: 'never-this-card', forSeconds: 0, timeout: 3600, checkCurrent: true, wires: [[], []] },
    );
    const tracker = ResourceTracker.start();
    try {
      await helper.load(NODES, nodes, credentials());
      for (let deploy = 1; deploy <= 5; deploy++) {
        if (deploy > 1) await helper.setFlows(nodes, 'full', credentials());
        await connected(helper.getNode('hub1'));
        helper.getNode('wait').receive({ payload: deploy } as NodeMessage);
        expect(hub.http.wss.clients.size, `deploy ${deploy}: one socket for the flow`).to.equal(1);
      }
      await helper.unload();
      await socketsClosed(hub);
      expect(hub.http.wss.clients.size).to.equal(0);
      const leaks = await tracker.leaked();
      expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
    } finally {
      tracker.stop();
    }
  });

  it('reconnects with backoff when the hub server restarts, and follows the players again', async () => {
    await helper.load(NODES, flow({ id: 'in1', type: 'yoto-device-in', z: 'f1', hub: 'hub1', deviceMode: 'id', device: LIVING_ROOM, events: ['playback_started', 'playback_stopped'], emitState: false, wires: [['out']] }, ...sinks('out')), credentials());
    const out = new Received<DeviceMessage>(helper.getNode('out'));
    // The node shows the hub's state (here: the remote hub's) while it has no players to show.
    const hubStatuses = new Statuses(helper.getNode('in1'));
    const client = await connected(helper.getNode('hub1'));

    // The same hub server (data directory, port) stopped and started again.
    const port = Number(new URL(hub.url).port);
    const options = { ...hub.options, http: { ...hub.options.http, port } };
    await hub.stop();
    await hubStatuses.text('remote hub unreachable, retrying');
    hub = new Hub(options, { logger: silentLogger, env: {} });
    await hub.start();
    await hub.broker.whenConnected();
    await playbackKnown(hub, LIVING_ROOM);
    if (client.state !== 'running') await new Promise<void>((resolve) => client.on('state', (state) => state === 'running' && resolve()));

    out.messages.length = 0;
    await hub.cloud.execute(LIVING_ROOM, { type: 'play', cardId: 'demo1' });
    const started = await out.find((msg) => msg.payload['type'] === 'playback_started' && msg.payload['card_id'] === 'demo1');
    expect(started.device).to.include({ id: LIVING_ROOM });
  });
});
