import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { removeTempDirs } from '../helpers/temp-dir';
import { ADMIN_ENV, call, KIDS_BEDROOM, LIVING_ROOM, player, signIn } from './client';
import { debugJson, EditorView } from './editor';
import { startProduct, type Product } from './product';

interface FlowNode {
  id: string;
  type: string;
  z?: string;
  label?: string;
  name?: string;
  wires?: string[][];
}

const YOTO_NODE_TYPES = ['yoto-device-in', 'yoto-device-command', 'yoto-play-script', 'yoto-cyoa-branch'];

describe('contract: the demo flows npm start deploys on first start', function () {
  this.timeout(60_000);
  let product: Product;
  let editor: EditorView;
  let token: string;
  let flows: FlowNode[];

  before(async () => {
    product = await startProduct({ env: ADMIN_ENV });
    editor = await EditorView.open(product.nodeRedUrl);
    token = await signIn(product.hubUrl);
    const answer = await call<FlowNode[]>(`${product.nodeRedUrl}/flows`);
    expect(answer.status).to.equal(200);
    flows = answer.body;
  });

  after(async () => {
    editor?.close();
    if (product) expect(await product.stop(), 'Ctrl-C stops it cleanly').to.equal(0);
    await removeTempDirs();
  });

  const tab = (label: RegExp): FlowNode => {
    const found = flows.find((node) => node.type === 'tab' && label.test(node.label ?? ''));
    expect(found, `a tab ${String(label)}`).to.not.equal(undefined);
    return found!;
  };

  it('says it deployed the demo flows, and the editor holds one tab per demo with every Yoto node type wired', async () => {
    await product.line(/User directory .*\(demo flows deployed\)/);
    for (const label of [/Bedtime/, /Lights follow the story/, /Choose your own adventure/, /Player events/]) tab(label);
    const types = new Set(flows.map((node) => node.type));
    for (const type of ['yoto-hub', ...YOTO_NODE_TYPES]) expect(types.has(type), `the flows use ${type}`).to.equal(true);
    for (const node of flows.filter((n) => YOTO_NODE_TYPES.includes(n.type))) {
      const wired = (node.wires ?? []).some((out) => out.length > 0) || flows.some((other) => (other.wires ?? []).some((out) => out.includes(node.id)));
      expect(wired, `${node.type} "${node.name}" is wired`).to.equal(true);
    }
  });

  it('runs on the virtual cloud\'s three players without asking anyone to sign in to Yoto', async () => {
    const devices = await call<{ devices: Array<{ name: string; online: boolean }> }>(`${product.hubUrl}/api/devices`, { token });
    expect(devices.body.devices.map((device) => device.name).sort()).to.deep.equal(['Kids Bedroom', 'Living Room', 'Playroom']);
    expect(devices.body.devices.every((device) => device.online), 'every player online').to.equal(true);
    const prompts = product.output.filter((line) => /sign in to (the )?Yoto|open this link/i.test(line));
    expect(prompts, 'no sign-in prompt while the hub uses its own virtual cloud').to.deep.equal([]);
  });

  it('shows a live status under every Yoto node: the hub connected, and the players online', async () => {
    for (const node of flows.filter((n) => YOTO_NODE_TYPES.includes(n.type) && n.type !== 'yoto-cyoa-branch')) {
      const status = await editor.statusWhen(node.id, (s) => s.fill === 'green');
      expect(status.text, `${node.name}`).to.match(/connected|online/);
    }
    await editor.statusWhen('yoto.demo.events.in', (s) => s.text === '3 of 3 online');
  });

  it('adds the demo content to the empty hub: three audio files, the scripts the flows play and the story', async () => {
    const audio = await call<{ items: Array<{ title: string; format: string }> }>(`${product.hubUrl}/api/audio`, { token });
    expect(audio.body.items.map((file) => file.title).sort()).to.deep.equal(["Agent Alex's mission", 'Searching the cave', 'The treasure under the rocks']);
    const scripts = await call<{ items?: Array<{ id: string }> } | Array<{ id: string }>>(`${product.hubUrl}/api/scripts`, { token });
    const ids = (Array.isArray(scripts.body) ? scripts.body : scripts.body.items ?? []).map((script) => script.id);
    for (const id of flows.filter((n) => n.type === 'yoto-play-script').map((n) => (n as FlowNode & { script: string }).script)) expect(ids).to.include(id);
    const story = await call<{ title: string }>(`${product.hubUrl}/api/stories/demo-spy-mission`, { token });
    expect(story.status).to.equal(200);
    const test = await call<{ passed: boolean }>(`${product.hubUrl}/api/stories/demo-spy-mission/test`, { token, method: 'POST' });
    expect(test.status, JSON.stringify(test.body)).to.equal(200);
  });

  it('device events: a button\'s command is confirmed, and the player\'s events reach the Debug sidebar', async () => {
    const from = editor.debug.length;
    await editor.click('yoto.demo.events.play');
    const confirmed = await editor.debugWhen('yoto.demo.events.confirmed', () => true, from);
    expect(debugJson(confirmed)).to.include({ deviceName: 'Living Room' });
    await editor.debugWhen('yoto.demo.events.debug', (entry) => entry.topic === `yoto/${LIVING_ROOM}/events` && debugJson(entry)['type'] === 'playback_started', from);
    await editor.statusWhen('yoto.demo.events.command', (s) => s.text === 'play confirmed by Living Room');
    await editor.statusWhen('yoto.demo.events.in', (s) => s.text === '3 of 3 online · playback_started');
    expect((await player(product.virtualCloudUrl, LIVING_ROOM)).cardId).to.equal('demo1');
  });

  it('bedtime: "Run bedtime now" plays the playlist, sets the sleep timer and dims the night light, then turns it off when the playlist ends', async () => {
    const from = editor.debug.length;
    await editor.click('yoto.demo.bedtime.now');
    await editor.debugWhen('yoto.demo.bedtime.on', () => true, from);
    await editor.statusWhen('yoto.demo.bedtime.play', (s) => s.text === 'playing Bedtime stories (demo)');
    await editor.statusWhen('yoto.demo.bedtime.sleep', (s) => s.text === 'sleep confirmed by Living Room');
    await editor.statusWhen('yoto.demo.bedtime.dim', (s) => s.text === 'nightlight confirmed by Living Room');
    const bedtime = await call<{ cardId: string }>(`${product.hubUrl}/api/scripts/demo-bedtime`, { token });
    const living = await player(product.virtualCloudUrl, LIVING_ROOM);
    expect(living).to.include({ cardId: bedtime.body.cardId, nightlight: '0x301000' });
    // 30 % on the player's 0..16 hardware scale reads back as the nearest step.
    expect(living.volumePercent).to.be.closeTo(30, 4);
    expect(living.sleepTimerSeconds).to.be.within(1, 1800);
    await editor.debugWhen('yoto.demo.bedtime.over', () => true, from);
    expect((await player(product.virtualCloudUrl, LIVING_ROOM)).nightlight).to.equal('off');
  });

  it('lights follow the story: the story light turns blue for the mission, gold for the treasure, off at the end', async () => {
    const from = editor.debug.length;
    await editor.click('yoto.demo.lights.start');
    const colours: string[] = [];
    for (const expected of ['blue', 'gold', 'off']) {
      const entry = await editor.debugWhen('yoto.demo.lights.debug', (e) => debugJson(e)['light'] === expected, from);
      colours.push(String(debugJson(entry)['light']));
    }
    expect(colours).to.deep.equal(['blue', 'gold', 'off']);
    const shown = (editor.statuses.get('yoto.demo.lights.light') ?? []).map((s) => s.text);
    expect(shown).to.include.members(["blue: Agent Alex's mission", 'gold: The treasure under the rocks', 'off']);
  });

  it('CYOA as a flow: the Zigbee buttons choose, each passage plays on Kids Bedroom, and the story ends', async () => {
    const from = editor.debug.length;
    const scriptCard = async (id: string): Promise<string> => (await call<{ cardId: string }>(`${product.hubUrl}/api/scripts/${id}`, { token })).body.cardId;
    // A press with nothing waiting goes nowhere.
    await editor.click('yoto.demo.cyoa.right');
    await editor.click('yoto.demo.cyoa.start');
    const waitingFrom = (editor.statuses.get('yoto.demo.cyoa.branchMission') ?? []).length;
    await editor.statusWhen('yoto.demo.cyoa.branchMission', (s) => s.text === 'waiting 30 s for a choice', waitingFrom - 1);
    expect((await player(product.virtualCloudUrl, KIDS_BEDROOM)).cardId).to.equal(await scriptCard('demo-spy-start'));
    await editor.click('yoto.demo.cyoa.right');
    await editor.statusWhen('yoto.demo.cyoa.branchMission', (s) => s.text === 'right (message)');
    await editor.statusWhen('yoto.demo.cyoa.branchCave', (s) => s.text === 'waiting 30 s for a choice');
    expect((await player(product.virtualCloudUrl, KIDS_BEDROOM)).cardId).to.equal(await scriptCard('demo-spy-cave'));
    await editor.click('yoto.demo.cyoa.right');
    await editor.debugWhen('yoto.demo.cyoa.end', () => true, from);
    expect((await player(product.virtualCloudUrl, KIDS_BEDROOM)).cardId).to.equal(await scriptCard('demo-spy-riddle'));
    expect(editor.debug.slice(from).filter((entry) => entry.id === 'yoto.demo.cyoa.errors'), 'no errors').to.deep.equal([]);
  });

  it('a story exported as a flow (GET /api/stories/:id/flow) imports into this Node-RED, and its nodes find this hub', async () => {
    const hubNode = flows.find((node) => node.type === 'yoto-hub')!;
    const exported = await call<Array<FlowNode & { hub?: string }>>(`${product.hubUrl}/api/stories/demo-spy-mission/flow?deviceId=${KIDS_BEDROOM}`, { token });
    expect(exported.status).to.equal(200);
    const yotoNodes = exported.body.filter((node) => YOTO_NODE_TYPES.includes(node.type));
    expect(yotoNodes.length).to.be.greaterThan(2);
    for (const node of yotoNodes) expect(node.hub, `${node.type} names the hub node that runs this hub`).to.equal(hubNode.id);
    // Imported as a new tab through Node-RED's admin API, as the editor's Import does.
    const tab = exported.body.find((node) => node.type === 'tab')!;
    const imported = await call<{ id: string }>(`${product.nodeRedUrl}/flow`, {
      method: 'POST',
      body: { id: tab.id, label: tab.label, nodes: exported.body.filter((node) => node.type !== 'tab'), configs: [] },
    });
    expect(imported.status, JSON.stringify(imported.body)).to.equal(200);
    for (const node of yotoNodes.filter((n) => n.type === 'yoto-play-script')) {
      const status = await editor.statusWhen(node.id, (s) => s.fill === 'green');
      expect(status.text, `${node.name ?? node.id}`).to.match(/connected|online/);
    }
    expect((await call(`${product.nodeRedUrl}/flow/${imported.body.id}`, { method: 'DELETE' })).status).to.equal(204);
  });

  it('a restart keeps the flows and adds no second copy of the demo content', async () => {
    expect(await product.stop()).to.equal(0);
    editor.close();
    const flowFile = fs.readFileSync(path.join(product.userDir, 'flows.json'), 'utf8');
    product = await startProduct({ env: ADMIN_ENV, userDir: product.userDir, dataDir: product.dataDir });
    editor = await EditorView.open(product.nodeRedUrl);
    expect(product.output.some((line) => /demo flows deployed/.test(line))).to.equal(false);
    expect(fs.readFileSync(path.join(product.userDir, 'flows.json'), 'utf8')).to.equal(flowFile);
    token = await signIn(product.hubUrl);
    const audio = await call<{ total: number }>(`${product.hubUrl}/api/audio`, { token });
    expect(audio.body.total).to.equal(3);
    const stories = await call<unknown>(`${product.hubUrl}/api/stories`, { token });
    expect(JSON.stringify(stories.body).match(/"id":"demo-spy-mission"/g)).to.have.length(1);
  });
});
