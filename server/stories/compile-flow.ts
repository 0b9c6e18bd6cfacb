import { automaticExit, indexStory, reachableFrom, type Story } from './model';

/** One node of a Node-RED flow export. */
export type FlowNode = { id: string; type: string; z?: string; name?: string; x?: number; y?: number; wires?: string[][] } & Record<string, unknown>;

export interface CompileFlowOptions {
  /** The id of the `yoto-hub` config node the flow's nodes use. */
  hubId: string;
  deviceId: string;
}

/** cyoa-branch outputs, in wire order. */
export const BRANCH_OUTPUTS = ['left', 'right', 'default', 'timeout'] as const;

const COLUMN = 420;
const ROW = 100;
const LEFT = 160;
const TOP = 140;

/** Node-RED ids: 16 hex characters; derived from the story and node so a re-export keeps them. */
function flowId(...parts: string[]): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (const char of parts.join('\u0000')) {
    const code = char.codePointAt(0)!;
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code, 0x5bd1e995) >>> 0;
    b = (b ^ (b >>> 13)) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/**
 * Compiles a story to an importable Node-RED flow: a tab, a comment, an
 * inject to start, and per passage a `yoto-play-script` (plays the node's
 * audio on the device) followed by a `yoto-cyoa-branch` (waits for left,
 * right, the end of the passage (output "default") or the waiting time
 * (output "timeout")) wired to the next passages. Laid out by depth from the start.
 */
export function compileToFlow(story: Story, options: CompileFlowOptions): FlowNode[] {
  const index = indexStory(story);
  const start = story.startNodeId;
  if (start === undefined || !index.nodes.has(start)) throw new Error('the story has no valid start node');
  const { order, depth } = reachableFrom(index, start);
  const tab = flowId(story.id, 'tab');
  const playId = (nodeId: string): string => flowId(story.id, 'play', nodeId);
  const branchId = (nodeId: string): string => flowId(story.id, 'branch', nodeId);
  const rows = new Map<number, number>();
  const flow: FlowNode[] = [
    { id: tab, type: 'tab', label: `Story: ${story.title}`, disabled: false, info: story.description ?? '' },
    {
      id: flowId(story.id, 'comment'),
      type: 'comment',
      z: tab,
      name: `${story.title} (${order.length} passages)`,
      info: 'Generated from the story. Each passage plays on the player, then its branch waits: left, right, the end of the passage (default) or no choice within the waiting time (timeout). Any message into a branch with msg.payload "left" or "right" chooses, so a button or sensor can choose too.',
      x: LEFT + 60,
      y: 40,
      wires: [],
    },
    { id: flowId(story.id, 'inject'), type: 'inject', z: tab, name: 'Start the story', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, x: LEFT - 40, y: TOP - 60, wires: [[playId(start)]] },
  ];
  for (const id of order) {
    const node = index.nodes.get(id)!;
    const column = depth.get(id)!;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    const x = LEFT + column * COLUMN;
    const y = TOP + row * ROW;
    const exits = index.exits.get(id) ?? {};
    const hasBranch = exits.left !== undefined || exits.right !== undefined || exits.end !== undefined || exits.default !== undefined;
    flow.push({
      id: playId(id),
      type: 'yoto-play-script',
      z: tab,
      name: node.title,
      hub: options.hubId,
      device: options.deviceId,
      storyId: story.id,
      storyNodeId: id,
      audioFileId: node.audioFileId ?? '',
      icon: node.icon ?? '',
      waitForEnd: false,
      x,
      y,
      wires: [hasBranch ? [branchId(id)] : []],
    });
    if (!hasBranch) continue;
    const wire = (to: string | undefined): string[] => (to !== undefined && index.nodes.has(to) ? [playId(to)] : []);
    const auto = automaticExit(exits);
    flow.push({
      id: branchId(id),
      type: 'yoto-cyoa-branch',
      z: tab,
      name: `${node.title}?`,
      // Explicit: the editor's default mode is 'player', which would ignore the story's exits once the node is edited.
      mode: 'story',
      hub: options.hubId,
      device: options.deviceId,
      storyId: story.id,
      storyNodeId: id,
      timeout: exits.default?.timeoutSeconds ?? 0,
      outputs: BRANCH_OUTPUTS.length,
      // The editor names the outputs from choiceLabels (nodes/yoto-cyoa-branch); outputLabels is Node-RED's own per-node override.
      choiceLabels: { left: exits.left?.label ?? '', right: exits.right?.label ?? '', end: automaticExit(exits)?.label ?? '' },
      outputLabels: [exits.left?.label ?? 'left', exits.right?.label ?? 'right', 'end of passage', 'no choice (timeout)'],
      x: x + COLUMN / 2,
      y,
      wires: [wire(exits.left?.to), wire(exits.right?.to), wire(auto?.to), wire(exits.default?.timeoutSeconds !== undefined ? exits.default.to : undefined)],
    });
  }
  return flow;
}
