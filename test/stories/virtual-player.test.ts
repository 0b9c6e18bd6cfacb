import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { compileToCard } from '../../server/stories';
import { VirtualCloud } from '../../server/virtual/virtual-cloud';
import { startAedes } from '../helpers/aedes-broker';
import { importSpy, spyDir } from './helpers';

describe('story engine: the compiled spyshort card plays on a virtual player', function () {
  let broker: EmbeddedBroker;
  let cloud: VirtualCloud;
  let audioServer: http.Server;
  let base = '';
  const mp3 = fs.readFileSync(path.join(spyDir, 'audio', 'Start.mp3'));

  before(async () => {
    audioServer = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': mp3.length });
      res.end(mp3);
    });
    await new Promise<void>((resolve) => audioServer.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(audioServer.address() as AddressInfo).port}`;
    broker = await startAedes();
    cloud = new VirtualCloud({ port: 0, brokerUrl: broker.url, streamOrigins: () => [base] });
    await cloud.start();
  });

  after(async () => {
    await cloud?.stop();
    await broker?.stop();
    await new Promise<void>((resolve) => audioServer.close(() => resolve()));
  });

  it('left and right presses and the end of a passage follow the story', async () => {
    const { story } = importSpy();
    const { card, chapterToNode } = compileToCard(story, { trackUrl: (node) => `${base}/stream/${node.id}.mp3` });
    const saved = await cloud.cards.save(card);
    const player = cloud.fleet.players()[0]!;
    const at = (): string | undefined => chapterToNode[player.snapshot().chapterKey ?? ''];
    await player.insertCard(saved.cardId);
    expect(at()).to.equal('Start');
    await player.press('right');
    expect(at()).to.equal('SearchElsewhere');
    await player.press('right'); // no right choice here: nothing happens
    expect(at()).to.equal('SearchElsewhere');
    await player.press('left');
    expect(at()).to.equal('Start');
    await player.press('left');
    expect(at()).to.equal('SolveRiddle');
    await player.press('right');
    expect(at()).to.equal('End');
    await player.press('left');
    expect(at()).to.equal('Start');
    expect(player.snapshot().playbackStatus).to.not.equal('stopped');
  });
});
