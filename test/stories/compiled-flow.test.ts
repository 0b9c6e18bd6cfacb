import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Node, NodeMessage } from 'node-red';
import type { DeviceState } from '../../server/core/device-state';
import type { Hub } from '../../server/hub';
import { compileToFlow, type FlowNode as CompiledNode, type Story } from '../../server/stories';
import type { AudioFile } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';
import { initNodeRedHelper, nodeRedVersion, yotoNodes } from '../helpers/node-red';
import { KIDS_BEDROOM, playbackKnown, runningHub, useHubConfigPerTest, type FlowNode } from '../helpers/yoto-node-flows';
import { spyDir, story as makeStory } from './helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
type NodeModule = (RED: unknown) => void;
const CORE = path.dirname(require.resolve('@node-red/nodes/package.json'));
const injectNode = require(path.join(CORE, 'core', 'common', '20-inject.js')) as NodeModule;
const commentNode = require(path.join(CORE, 'core', 'common', '90-comment.js')) as NodeModule;
/* eslint-enable @typescript-eslint/no-require-imports */
const NODES = [...yotoNodes('yoto-hub', 'yoto-play-script', 'yoto-cyoa-branch'), injectNode, commentNode];
const AUDIO = path.join(spyDir, 'audio');
const PACKAGE_ROOT = path.join(__dirname, '..', '..', '..');

const helper = initNodeRedHelper();

interface BranchMessage extends NodeMessage {
  choice: string;
  branch: { choice: string; output: string; by: string };
}

/** What a node sent, output by output, from the test helper's `call:send` events (no helper nodes added to the compiled flow). */
class Sent {
  readonly sends: Array<{ output: number; msg: NodeMessage }> = [];
  private waiters: Array<() => void> = [];

  constructor(node: Node | undefined) {
    if (!node) throw new Error('no such node');
    (node as unknown as NodeJS.EventEmitter).on('call:send', (call: { args: unknown[] }) => {
      const out = call.args[0];
      const list = Array.isArray(out) ? (out as Array<NodeMessage | null>) : [out as NodeMessage];
      list.forEach((msg, output) => {
        if (msg) this.sends.push({ output, msg });
      });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Waits for the `n`-th send (1-based) and returns it. */
  async nth(n: number): Promise<{ output: number; msg: NodeMessage }> {
    while (this.sends.length < n) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.sends[n - 1]!;
  }
}

/** Statuses a node shows; `next(text, after)` waits for one with this text among those after the first `after`. */
class StatusLog {
  readonly texts: string[] = [];
  private waiters: Array<() => void> = [];

  constructor(node: Node | undefined) {
    if (!node) throw new Error('no such node');
    (node as unknown as NodeJS.EventEmitter).on('call:status', (call: { args: unknown[] }) => {
      this.texts.push(String((call.args[0] as { text?: unknown }).text ?? ''));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  async next(text: string, after: number): Promise<void> {
    while (!this.texts.slice(after).includes(text)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/** Every (card, playback state) Kids Bedroom went through since the test deployed, so a short passage that already ended still counts as played. */
class PlaybackLog {
  readonly seen: Array<{ cardId: string | undefined; state: string | undefined }> = [];
  private waiters: Array<() => void> = [];
  private readonly onState = (state: DeviceState): void => {
    if (state.deviceId !== KIDS_BEDROOM) return;
    this.seen.push({ cardId: state.playback.cardId, state: state.playback.state });
    for (const wake of this.waiters.splice(0)) wake();
  };

  constructor(private readonly hub: Hub) {
    hub.devices.bus.on(this, 'state', this.onState);
  }

  /** Waits until the player reported playing this card. */
  async played(cardId: string, after: number): Promise<void> {
    while (!this.seen.slice(after).some((s) => s.cardId === cardId && s.state === 'playing')) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.hub.devices.bus.off(this);
  }
}

/** Start → left A, right B; A and B are endings. `timeoutTo`: Start also leaves there when nobody chooses within `timeoutSeconds`. */
function threeNodeStory(files: Record<'Start' | 'A' | 'B', AudioFile>, timeout?: { to: 'A' | 'B'; seconds: number }): Story {
  const position = { x: 0, y: 0 };
  return makeStory({
    id: timeout ? 'mission-timeout' : 'mission',
    userId: 'node-red',
    title: 'Mission',
    startNodeId: 'Start',
    nodes: [
      { id: 'Start', title: 'Start', audioFileId: files.Start.id, position },
      { id: 'A', title: 'Solve the riddle', audioFileId: files.A.id, position, ending: true },
      { id: 'B', title: 'Search elsewhere', audioFileId: files.B.id, position, ending: true },
    ],
    connections: [
      { id: 'c-left', from: 'Start', to: 'A', choice: 'left', label: 'Solve the riddle' },
      { id: 'c-right', from: 'Start', to: 'B', choice: 'right', label: 'Search elsewhere' },
      ...(timeout ? [{ id: 'c-timeout', from: 'Start', to: timeout.to, choice: 'default' as const, timeoutSeconds: timeout.seconds }] : []),
    ],
  });
}

/** Every node type a flow may use: the package's own (package.json node-red.nodes) and Node-RED's core nodes. */
function knownTypes(): Set<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  const types = new Set<string>(['tab', 'subflow', 'group', ...Object.keys(pkg['node-red'].nodes)]);
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.js')) for (const match of fs.readFileSync(full, 'utf8').matchAll(/registerType\(\s*["']([\w -]+)["']/g)) types.add(match[1]!);
    }
  };
  walk(path.join(CORE, 'core'));
  return types;
}

/** The outputs a node type has in the editor (its .html `outputs:`), for the yoto types. */
function editorOutputs(type: string): number | undefined {
  const html = path.join(PACKAGE_ROOT, 'nodes', type, `${type}.html`);
  if (!fs.existsSync(html)) return undefined;
  const match = /\boutputs:\s*(\d+),/.exec(fs.readFileSync(html, 'utf8'));
  return match ? Number(match[1]) : undefined;
}

/**
 * The settings a node type's editor keeps, for the yoto types: its .html `defaults`, and the ones
 * every Yoto node shares (name, hub) that YotoEditor.node in resources/yoto-editor.js adds.
 */
function editorDefaults(type: string): Set<string> {
  const html = fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', type, `${type}.html`), 'utf8');
  const block = /defaults:\s*\{([\s\S]*?)\n {6}\},/.exec(html)?.[1] ?? '';
  const kept = [...block.matchAll(/^\s{8}(\w+):/gm)].map((m) => m[1]!);
  if (html.includes('YotoEditor.node(')) {
    const editor = fs.readFileSync(path.join(PACKAGE_ROOT, 'resources', 'yoto-editor.js'), 'utf8');
    const shared = /var defaults = \{(.*)\};/.exec(editor)?.[1] ?? '';
    kept.push(...[...shared.matchAll(/(\w+): \{/g)].map((m) => m[1]!));
  }
  return new Set(kept);
}

describe(`a story compiled to a Node-RED flow runs the story (Node-RED ${nodeRedVersion()})`, function () {
  this.timeout(120_000);
  const hubConfig = useHubConfigPerTest(helper);

  /**
   * Imports the audio into the hub's library (it lives in the hub's data directory), stores the story,
   * compiles it, then deploys the compiled flow with the hub config node.
   */
  async function deployCompiled(timeout?: { to: 'A' | 'B'; seconds: number }): Promise<{ hub: Hub; story: Story; flow: CompiledNode[]; files: Record<'Start' | 'A' | 'B', AudioFile> }> {
    await helper.load(NODES, [{ id: 'f0', type: 'tab', label: 'hub only' } as FlowNode, hubConfig().node]);
    const first = await runningHub(helper.getNode('hub1'));
    const importAudio = (name: string): Promise<AudioFile> => first.library.files.importFile(path.join(AUDIO, name), { userId: 'node-red', originalName: name });
    const files = { Start: await importAudio('Start.mp3'), A: await importAudio('SolveRiddle.mp3'), B: await importAudio('SearchElsewhere.mp3') };
    const story = getValidator().validate('cyoa-story', threeNodeStory(files, timeout));
    await first.store.stories.insert(story);
    const flow = compileToFlow(story, { hubId: 'hub1', deviceId: KIDS_BEDROOM });
    await helper.unload();

    await helper.load(NODES, [...(flow as FlowNode[]), hubConfig().node]);
    const hub = await runningHub(helper.getNode('hub1'));
    expect(hub.store.stories.get(story.id)?.title, 'the story survives the redeploy').to.equal('Mission');
    await playbackKnown(hub, KIDS_BEDROOM);
    return { hub, story, flow, files };
  }

  const idOf = (flow: CompiledNode[], type: string, storyNodeId?: string): string => {
    const found = flow.find((n) => n.type === type && (storyNodeId === undefined || n['storyNodeId'] === storyNodeId));
    if (!found) throw new Error(`no ${type} ${storyNodeId ?? ''} in the compiled flow`);
    return found.id;
  };

  /**
   * The story's passages as deployed: `play(nodeId)` marks where the run is, `played(nodeId, file)` then waits for
   * that passage's play-script to say "playing", checks its script holds the passage's audio file, and waits until
   * Kids Bedroom reported playing that script's card (hub.devices state). Resolves with the card id.
   */
  function passages(hub: Hub, story: Story, flow: CompiledNode[]): { mark: () => void; played: (nodeId: string, file: AudioFile) => Promise<string>; log: PlaybackLog } {
    const log = new PlaybackLog(hub);
    const statuses = new Map(story.nodes.map((n) => [n.id, new StatusLog(helper.getNode(idOf(flow, 'yoto-play-script', n.id)))]));
    let marks = { log: 0, statuses: new Map<string, number>() };
    const mark = (): void => {
      marks = { log: log.seen.length, statuses: new Map([...statuses].map(([id, status]) => [id, status.texts.length])) };
    };
    const played = async (nodeId: string, file: AudioFile): Promise<string> => {
      const title = story.nodes.find((n) => n.id === nodeId)!.title;
      await statuses.get(nodeId)!.next(`playing ${title}`, marks.statuses.get(nodeId) ?? 0);
      const script = hub.store.scripts.get(`node-red-${story.id}-${nodeId}`);
      expect(script?.type, `the script of ${nodeId}`).to.equal('simple');
      expect(script?.definition).to.deep.include({ audioFileId: file.id });
      const cardId = script?.cardId;
      expect(cardId, `the card of ${nodeId}`).to.be.a('string');
      await log.played(cardId!, marks.log);
      return cardId!;
    };
    return { mark, played, log };
  }

  it('imports cleanly: known node types, wires to existing nodes within each type\'s outputs, settings the editor keeps', () => {
    const files = { Start: { id: 'f-start' }, A: { id: 'f-a' }, B: { id: 'f-b' } } as Record<'Start' | 'A' | 'B', AudioFile>;
    for (const story of [threeNodeStory(files), threeNodeStory(files, { to: 'A', seconds: 5 })]) {
      const flow = compileToFlow(story, { hubId: 'hub1', deviceId: KIDS_BEDROOM });
      const types = knownTypes();
      const ids = new Set(flow.map((n) => n.id));
      expect(ids.size, 'unique ids').to.equal(flow.length);
      const tab = flow.find((n) => n.type === 'tab');
      expect(tab).to.not.equal(undefined);
      for (const node of flow) {
        expect(types.has(node.type), `type ${node.type}`).to.equal(true);
        if (node.type !== 'tab') expect(node.z, `${node.id} on the tab`).to.equal(tab!.id);
        for (const wire of node.wires ?? []) for (const target of wire) expect(ids.has(target), `${node.id} -> ${target}`).to.equal(true);
        const outputs = editorOutputs(node.type);
        if (outputs !== undefined) expect(node.wires?.length ?? 0, `${node.type} wires`).to.be.at.most(outputs);
        if (node.type.startsWith('yoto-')) {
          const kept = editorDefaults(node.type);
          const written = Object.keys(node).filter((key) => !['id', 'type', 'z', 'x', 'y', 'wires', 'outputLabels'].includes(key));
          expect(written.filter((key) => !kept.has(key)), `${node.type} settings the editor does not know`).to.deep.equal([]);
          expect(node['hub']).to.equal('hub1');
        }
      }
      const inject = flow.filter((n) => n.type === 'inject');
      expect(inject.map((n) => n.name)).to.deep.equal(['Start the story']);
      const branch = flow.find((n) => n.type === 'yoto-cyoa-branch')!;
      expect(branch).to.include({ mode: 'story', storyId: story.id, storyNodeId: 'Start', device: KIDS_BEDROOM });
      expect(branch['choiceLabels']).to.deep.include({ left: 'Solve the riddle', right: 'Search elsewhere' });
      expect(inject[0]!.wires).to.deep.equal([[idOf(flow, 'yoto-play-script', 'Start')]]);
      expect(flow.find((n) => n.id === idOf(flow, 'yoto-play-script', 'Start'))!.wires![0]).to.deep.equal([idOf(flow, 'yoto-cyoa-branch', 'Start')]);
    }
  });

  it('plays Start on Kids Bedroom, then A after msg.choice "left"; a second run plays B after "right"', async () => {
    const { hub, story, flow, files } = await deployCompiled();
    expect(flow.some((n) => n.type === 'yoto-cyoa-branch' && n['storyNodeId'] !== 'Start'), 'endings have no branch').to.equal(false);
    const inject = helper.getNode(idOf(flow, 'inject'));
    const startPlay = new Sent(helper.getNode(idOf(flow, 'yoto-play-script', 'Start')));
    const branchNode = helper.getNode(idOf(flow, 'yoto-cyoa-branch', 'Start'));
    const branch = new Sent(branchNode);
    const branchStatus = new StatusLog(branchNode);
    const story$ = passages(hub, story, flow);

    /** One run of the flow: Start plays, the branch waits, a node in the house chooses; the card of the passage it leads to. */
    const run = async (nth: number, choice: 'left' | 'right', passage: 'A' | 'B'): Promise<string> => {
      const waits = branchStatus.texts.length;
      story$.mark();
      inject.receive({} as NodeMessage);
      const start = await startPlay.nth(nth);
      expect(await story$.played('Start', files.Start)).to.equal((start.msg.payload as { cardId: string }).cardId);
      await branchStatus.next('waiting for a choice', waits);
      story$.mark();
      branchNode.receive({ choice } as NodeMessage);
      const routed = await branch.nth(nth);
      expect(routed.output).to.equal(choice === 'left' ? 0 : 1);
      expect((routed.msg as BranchMessage).branch).to.deep.include({ choice, output: choice, by: 'message' });
      return story$.played(passage, files[passage]);
    };
    // Run 1: start; once the branch waits, a node in the house chooses left.
    const cardA = await run(1, 'left', 'A');
    expect(startPlay.sends[0]!.output, 'started').to.equal(0);
    // Run 2: the same flow, started again; right plays B.
    const cardB = await run(2, 'right', 'B');
    expect(cardB).to.not.equal(cardA);
    expect(branch.sends, 'the branch left once per run').to.have.length(2);
    story$.log.stop();
  });

  it('leaves by the timeout output when nobody chooses, and plays the timeout\'s passage', async () => {
    const { hub, story, flow, files } = await deployCompiled({ to: 'A', seconds: 0.05 });
    const startBranch = flow.find((n) => n.id === idOf(flow, 'yoto-cyoa-branch', 'Start'))!;
    expect(startBranch['timeout']).to.equal(0.05);
    expect(startBranch.wires![3]).to.deep.equal([idOf(flow, 'yoto-play-script', 'A')]);
    const branch = new Sent(helper.getNode(startBranch.id));
    const story$ = passages(hub, story, flow);

    story$.mark();
    helper.getNode(idOf(flow, 'inject')).receive({} as NodeMessage);
    await story$.played('Start', files.Start);
    const timedOut = await branch.nth(1);
    expect(timedOut.output, 'the timeout output').to.equal(3);
    expect((timedOut.msg as BranchMessage).branch).to.deep.include({ choice: 'timeout', output: 'timeout', by: 'timeout' });
    await story$.played('A', files.A);
    story$.log.stop();
  });
});
