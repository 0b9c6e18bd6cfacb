import { expect } from 'chai';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { HubHttpServer } from '../../server/http/http-server';
import { silentLogger } from '../../server/log/logger';
import { RealtimeGateway } from '../../server/realtime';
import { DEMO_CARDS } from '../../server/virtual/cards/demo-cards';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { VirtualCloud } from '../../server/virtual/virtual-cloud';
import { startAedes } from '../helpers/aedes-broker';
import { followDefaultPlayers, type Stops } from '../helpers/followed-players';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { canSee, TestClient, USERS } from './realtime-rig';

/**
 * End to end: virtual players on the "Yoto cloud" broker (Aedes), the cloud
 * adapter's MQTT client into the device registry, the gateway on a real hub
 * server, and a panel-like WebSocket client.
 */
describe('realtime gateway with virtual players', function () {
  const stops: Stops = [];
  let broker: EmbeddedBroker | undefined;

  after(removeTempDirs);

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await broker?.stop();
    broker = undefined;
  });

  it('shows a panel subscribed to a player that it starts playing when a card is inserted', async () => {
    broker = await startAedes();
    const cloud = new VirtualCloud({ port: 0, brokerUrl: broker.url, demoCards: DEMO_CARDS });
    await cloud.start();
    stops.push(() => cloud.stop());

    const { registry } = await followDefaultPlayers(broker.url, stops);

    const hub = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir: await makeTempDir('realtime-panel'), logger: silentLogger });
    await hub.listen();
    stops.push(() => hub.close());
    const gateway = new RealtimeGateway({ wss: hub.wss, registry, authenticate: (token) => USERS[token], canSee, logger: silentLogger });
    gateway.start();
    stops.push(() => gateway.stop());

    const kids = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;
    const panel = await TestClient.connect(`ws://127.0.0.1:${hub.port}/ws`, 'token-admin', 'protocol');
    stops.push(() => panel.ws.terminate());
    const first = await panel.subscribe(`device.${kids}`);
    const picture = first.slice(0, first.findIndex((m) => m.type === 'subscribed') + 1);
    expect(picture.map((m) => m.type)).to.deep.equal(['device.status', 'device.playback', 'subscribed']);

    const mark = panel.mark;
    await cloud.fleet.player(kids)!.insertCard('demo1');
    const playing = await panel.next('device.playback', (m) => m.data.state === 'playing', mark);
    expect(playing.deviceId).to.equal(kids);
    expect(playing.data).to.include({ card_id: 'demo1', chapter_key: '01', title: 'The cave' });
    const inserted = await panel.next('device.event', (m) => m.event.type === 'card_inserted', mark);
    expect(inserted.event).to.include({ card_id: 'demo1', device_id: kids });
    expect(panel.since(mark).every((m) => !('deviceId' in m) || m.deviceId === kids)).to.equal(true);
    expect(panel.invalid).to.deep.equal([]);
  });
});
