import { automaticExit, indexStory, reachableFrom, SAFE_ID, type Story, type StoryNode } from './model';

export type FindingSeverity = 'error' | 'warning';

export type FindingCode =
  | 'missing_start'
  | 'duplicate_id'
  | 'unsafe_id'
  | 'missing_node'
  | 'too_many_choices'
  | 'timeout_without_default'
  | 'dead_end'
  | 'one_side_missing'
  | 'same_target'
  | 'unreachable'
  | 'no_way_to_end'
  | 'missing_audio'
  | 'audio_unreadable'
  | 'too_many_nodes'
  | 'too_deep';

/** One problem with a story. Errors block deploy; warnings do not. */
export interface Finding {
  severity: FindingSeverity;
  code: FindingCode;
  /** The nodes it is about (empty when it is about the whole story). */
  nodeIds: string[];
  /** A sentence a parent understands. */
  message: string;
}

export interface ValidateOptions {
  /** False when the audio file is missing or cannot be read; not called when omitted. */
  audioExists?(fileId: string): boolean;
  /** Above this many passages reachable from the start: a size warning (default 60). */
  maxNodes?: number;
  /** Above this many steps from the start to the farthest passage: a size warning (default 15). */
  maxDepth?: number;
}

export const DEFAULT_MAX_NODES = 60;
export const DEFAULT_MAX_DEPTH = 15;

const CHOICE_WORDS: Record<string, string> = {
  left: 'the left button',
  right: 'the right button',
  end: 'the end of the passage',
  default: 'no choice made',
};

/** True when no finding is an error: the story may be deployed. */
export function isDeployable(findings: readonly Finding[]): boolean {
  return !findings.some((finding) => finding.severity === 'error');
}

/**
 * Checks a story's graph and audio. Runs in O(nodes + connections) with
 * iterative graph walks, so 10,000-node stories neither stall nor overflow.
 */
export function validateStory(story: Story, options: ValidateOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const add = (severity: FindingSeverity, code: FindingCode, nodeIds: string[], message: string): void => {
    findings.push({ severity, code, nodeIds, message });
  };
  const index = indexStory(story);
  const name = (id: string): string => {
    const node = index.nodes.get(id);
    return node ? `"${node.title}"` : `"${id}"`;
  };
  const names = (ids: readonly string[]): string => {
    const shown = ids.slice(0, 5).map(name).join(', ');
    return ids.length > 5 ? `${shown} and ${ids.length - 5} more` : shown;
  };

  // Ids and keys.
  const seenNodes = new Set<string>();
  for (const node of story.nodes) {
    if (!SAFE_ID.test(node.id)) add('error', 'unsafe_id', [node.id], `The passage ${name(node.id)} has an id that is not safe to use (only letters, digits, "-" and "_"): "${node.id}".`);
    if (seenNodes.has(node.id)) add('error', 'duplicate_id', [node.id], `Two passages share the id "${node.id}"; each passage needs its own.`);
    seenNodes.add(node.id);
    if (node.audioFileId !== undefined && !SAFE_ID.test(node.audioFileId)) {
      add('error', 'unsafe_id', [node.id], `The passage ${name(node.id)} refers to its audio by an unsafe file id.`);
    }
  }
  const seenConnections = new Set<string>();
  for (const connection of story.connections) {
    const about = index.nodes.has(connection.from) ? [connection.from] : [];
    if (!SAFE_ID.test(connection.id)) add('error', 'unsafe_id', about, `A choice has an id that is not safe to use: "${connection.id}".`);
    if (seenConnections.has(connection.id)) add('error', 'duplicate_id', about, `Two choices share the id "${connection.id}"; each choice needs its own.`);
    seenConnections.add(connection.id);
  }

  // Start.
  const start = story.startNodeId;
  if (start === undefined) add('error', 'missing_start', [], 'The story has no first passage: choose where it starts.');
  else if (!index.nodes.has(start)) add('error', 'missing_start', [], `The story starts at a passage that does not exist ("${start}"): choose where it starts.`);

  // Connections.
  const perChoice = new Map<string, number>();
  for (const connection of story.connections) {
    if (!index.nodes.has(connection.from)) {
      add('error', 'missing_node', [], `A choice leaves from a passage that does not exist ("${connection.from}").`);
      continue;
    }
    if (!index.nodes.has(connection.to)) {
      add('error', 'missing_node', [connection.from], `In ${name(connection.from)}, ${CHOICE_WORDS[connection.choice]} leads to a passage that does not exist ("${connection.to}").`);
    }
    const slot = `${connection.from}\u0000${connection.choice}`;
    perChoice.set(slot, (perChoice.get(slot) ?? 0) + 1);
    if (connection.timeoutSeconds !== undefined && connection.choice !== 'default') {
      add('error', 'timeout_without_default', [connection.from], `In ${name(connection.from)}, a waiting time is set on ${CHOICE_WORDS[connection.choice]}, but only a "no choice made" connection can have one: add that connection or remove the waiting time.`);
    }
  }
  const reportedTooMany = new Set<string>();
  for (const [slot, count] of perChoice) {
    if (count < 2) continue;
    const [from, choice] = slot.split('\u0000') as [string, string];
    reportedTooMany.add(from);
    add('error', 'too_many_choices', [from], `In ${name(from)}, ${CHOICE_WORDS[choice]} has ${count} different choices, but a player can only follow one.`);
  }

  // Dead ends matter only where a listener can get to (every passage when the start is unknown).
  const reachable = start !== undefined && index.nodes.has(start) ? new Set(reachableFrom(index, start).order) : undefined;

  // Per node: dead ends, choice sides, audio.
  for (const node of index.nodes.values()) {
    const exits = index.exits.get(node.id);
    if (exits?.end && exits.default && !reportedTooMany.has(node.id)) {
      add('error', 'too_many_choices', [node.id], `${name(node.id)} has both an "at the end of the passage" and a "no choice made" connection; a player can only follow one.`);
    }
    if (exits === undefined && !node.ending && (reachable === undefined || reachable.has(node.id))) {
      add('error', 'dead_end', [node.id], `The story stops at ${name(node.id)} with no way on: add a choice, or mark it as an ending.`);
    }
    if (exits?.left && !exits.right) add('warning', 'one_side_missing', [node.id], `In ${name(node.id)} only the left button does something; the right button does nothing.`);
    if (exits?.right && !exits.left) add('warning', 'one_side_missing', [node.id], `In ${name(node.id)} only the right button does something; the left button does nothing.`);
    if (exits?.left && exits.right && exits.left.to === exits.right.to) {
      add('warning', 'same_target', [node.id], `In ${name(node.id)} both buttons lead to ${name(exits.left.to)}, so the choice makes no difference.`);
    }
    checkAudio(node, options, add, name);
  }

  // Reachability, loops without a way out, size.
  if (start !== undefined && index.nodes.has(start)) {
    const { order, depth } = reachableFrom(index, start);
    const reached = new Set(order);
    const unreachable = [...index.nodes.keys()].filter((id) => !reached.has(id));
    if (unreachable.length) {
      add('warning', 'unreachable', unreachable, `${unreachable.length === 1 ? 'This passage' : `These ${unreachable.length} passages`} can never be heard, because no choice leads there from the start: ${names(unreachable)}.`);
    }
    const trapped = trappedNodes(story, order, index);
    if (trapped.length) {
      add('error', 'no_way_to_end', trapped, `Once the story reaches ${names(trapped)}, no choice ever leads to an ending: every way on from there goes round in circles. Add a way to an ending.`);
    }
    const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
    if (order.length > maxNodes) {
      add('warning', 'too_many_nodes', [], `The story has ${order.length} passages; more than ${maxNodes} is a lot for a young listener to follow.`);
    }
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    let deepest = start;
    for (const id of order) if (depth.get(id)! > depth.get(deepest)!) deepest = id;
    if (depth.get(deepest)! > maxDepth) {
      add('warning', 'too_deep', [deepest], `Reaching ${name(deepest)} takes ${depth.get(deepest)} choices in a row; more than ${maxDepth} is long for a young listener.`);
    }
  }
  return findings;
}

function checkAudio(
  node: StoryNode,
  options: ValidateOptions,
  add: (severity: FindingSeverity, code: FindingCode, nodeIds: string[], message: string) => void,
  name: (id: string) => string,
): void {
  if (node.audioFileId === undefined) {
    add('error', 'missing_audio', [node.id], `${name(node.id)} has no recording yet: record or choose its audio.`);
  } else if (options.audioExists && SAFE_ID.test(node.audioFileId) && !options.audioExists(node.audioFileId)) {
    add('error', 'audio_unreadable', [node.id], `The recording of ${name(node.id)} is missing or cannot be read: choose its audio again.`);
  }
}

/**
 * Where a story ends: a passage marked as an ending, one with no way on, or
 * one that stops when its audio ends (no automatic way on) while a button
 * does nothing there, as Yoto's converter makes a passage of one link and
 * `[[]]` placeholders. A passage whose two buttons both lead on and whose
 * audio then stops is a choice, not an ending.
 */
function isEnding(node: StoryNode, index: ReturnType<typeof indexStory>): boolean {
  if (node.ending) return true;
  const exits = index.exits.get(node.id);
  const leads = (to: string | undefined): boolean => to !== undefined && index.nodes.has(to);
  const auto = automaticExit(exits);
  if (leads(auto?.to)) return false;
  return !leads(exits?.left?.to) || !leads(exits?.right?.to);
}

/**
 * Reachable nodes from which no sequence of choices reaches an ending (an
 * ending is isEnding above). A backward walk from the endings along every
 * connection marks the rest. O(nodes + connections), iterative.
 */
function trappedNodes(story: Story, reachable: readonly string[], index: ReturnType<typeof indexStory>): string[] {
  const reached = new Set(reachable);
  const incoming = new Map<string, string[]>();
  for (const connection of story.connections) {
    if (!reached.has(connection.from) || !index.nodes.has(connection.to)) continue;
    let list = incoming.get(connection.to);
    if (!list) incoming.set(connection.to, (list = []));
    list.push(connection.from);
  }
  const canStop = new Set<string>();
  const queue: string[] = [];
  for (const id of reachable) {
    if (isEnding(index.nodes.get(id)!, index)) {
      canStop.add(id);
      queue.push(id);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    for (const from of incoming.get(queue[head]!) ?? []) {
      if (canStop.has(from)) continue;
      canStop.add(from);
      queue.push(from);
    }
  }
  return reachable.filter((id) => !canStop.has(id));
}
