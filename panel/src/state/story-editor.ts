import type { Choice, CyoaConnection, CyoaNode, CyoaStory } from '../api/content';
import { ChangeNotifier } from './change-notifier';

/** One undoable change: the story before and after (stories are small; snapshots keep undo exact). */
interface Command {
  label: string;
  before: CyoaStory;
  after: CyoaStory;
}

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 96;

/**
 * The story being edited in the CYOA builder, with its undo/redo command
 * stack. Every change goes through `apply()` (a pure function of the story),
 * so each is undoable and every listener (the canvas, the side panel, the
 * saver) sees one new story object.
 */
export class StoryEditor extends ChangeNotifier {
  story: CyoaStory;
  private readonly undoStack: Command[] = [];
  private readonly redoStack: Command[] = [];

  constructor(story: CyoaStory) {
    super();
    this.story = story;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }
  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }
  get undoLabel(): string | undefined {
    return this.undoStack.at(-1)?.label;
  }
  get redoLabel(): string | undefined {
    return this.redoStack.at(-1)?.label;
  }

  /** Applies a change as one undoable step; a change that changes nothing is dropped. */
  apply(label: string, change: (story: CyoaStory) => CyoaStory): void {
    const before = this.story;
    const after = change(before);
    if (after === before || JSON.stringify(after) === JSON.stringify(before)) return;
    this.undoStack.push({ label, before, after });
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack.length = 0;
    this.story = after;
    this.notify();
  }

  undo(): void {
    this.replay(this.undoStack, this.redoStack, 'before');
  }

  redo(): void {
    this.replay(this.redoStack, this.undoStack, 'after');
  }

  /** Moves the newest command of `from` onto `to` and shows the story as it was `side` that command. */
  private replay(from: Command[], to: Command[], side: 'before' | 'after'): void {
    const command = from.pop();
    if (!command) return;
    to.push(command);
    this.story = command[side];
    this.notify();
  }
}

// ---- changes (pure) ----

export function newId(prefix: string, taken: ReadonlySet<string>): string {
  for (let i = 1; ; i++) {
    const id = `${prefix}${i}`;
    if (!taken.has(id)) return id;
  }
}

/** Room kept between a new passage and the others, so its arrows and labels have space. */
export const GAP_X = 60;
const GAP_Y = 40;

/**
 * The free place nearest `preferred` for a new passage: `preferred` itself
 * when no passage is there, else the closest point of a grid of passage-sized
 * cells around it (nearest first; on a tie, the same row, then to the right)
 * whose passage would not touch another. A new passage never lands on top of
 * one the user already placed.
 */
export function freeSpot(nodes: readonly { position: { x: number; y: number } }[], preferred: { x: number; y: number }): { x: number; y: number } {
  const fits = (x: number, y: number): boolean =>
    nodes.every((node) => x + NODE_WIDTH + GAP_X / 2 <= node.position.x || node.position.x + NODE_WIDTH + GAP_X / 2 <= x
      || y + NODE_HEIGHT + GAP_Y / 2 <= node.position.y || node.position.y + NODE_HEIGHT + GAP_Y / 2 <= y);
  const stepX = NODE_WIDTH + GAP_X;
  const stepY = NODE_HEIGHT + GAP_Y;
  for (let ring = 0; ring <= 12; ring++) {
    const cells: Array<{ dx: number; dy: number }> = [];
    for (let dy = -ring; dy <= ring; dy++) {
      for (let dx = -ring; dx <= ring; dx++) if (Math.max(Math.abs(dx), Math.abs(dy)) === ring) cells.push({ dx, dy });
    }
    cells.sort((a, b) => Math.hypot(a.dx * stepX, a.dy * stepY) - Math.hypot(b.dx * stepX, b.dy * stepY) || Math.abs(a.dy) - Math.abs(b.dy) || b.dx - a.dx || a.dy - b.dy);
    for (const { dx, dy } of cells) {
      const x = preferred.x + dx * stepX;
      const y = preferred.y + dy * stepY;
      if (fits(x, y)) return { x, y };
    }
  }
  return preferred;
}

export function addNode(story: CyoaStory, at: { x: number; y: number }): { story: CyoaStory; nodeId: string } {
  const nodeId = newId('node', new Set(story.nodes.map((node) => node.id)));
  const node: CyoaNode = { id: nodeId, title: `Passage ${story.nodes.length + 1}`, position: { x: Math.round(at.x), y: Math.round(at.y) } };
  const next: CyoaStory = { ...story, nodes: [...story.nodes, node] };
  if (!story.startNodeId) next.startNodeId = nodeId;
  return { story: next, nodeId };
}

export function removeNode(story: CyoaStory, nodeId: string): CyoaStory {
  const next: CyoaStory = {
    ...story,
    nodes: story.nodes.filter((node) => node.id !== nodeId),
    connections: story.connections.filter((connection) => connection.from !== nodeId && connection.to !== nodeId),
  };
  if (story.startNodeId === nodeId) delete next.startNodeId;
  return next;
}

export function updateNode(story: CyoaStory, nodeId: string, patch: Partial<Omit<CyoaNode, 'id'>>): CyoaStory {
  return {
    ...story,
    nodes: story.nodes.map((node) => {
      if (node.id !== nodeId) return node;
      const next: CyoaNode = { ...node, ...patch };
      // Empty optional fields are left out rather than stored empty.
      for (const key of ['audioFileId', 'prompt', 'icon'] as const) if (next[key] === '' || next[key] === undefined) delete next[key];
      if (next.ending === false) delete next.ending;
      return next;
    }),
  };
}

export function moveNodes(story: CyoaStory, positions: ReadonlyMap<string, { x: number; y: number }>): CyoaStory {
  return { ...story, nodes: story.nodes.map((node) => {
    const at = positions.get(node.id);
    return at ? { ...node, position: { x: Math.round(at.x), y: Math.round(at.y) } } : node;
  }) };
}

/** Connects `from`'s `choice` output to `to`, replacing the connection that output had. */
export function connect(story: CyoaStory, from: string, to: string, choice: Choice): CyoaStory {
  const id = newId('c', new Set(story.connections.map((connection) => connection.id)));
  const connection: CyoaConnection = { id, from, to, choice, ...(choice === 'default' ? { timeoutSeconds: 30 } : {}) };
  return { ...story, connections: [...story.connections.filter((c) => !(c.from === from && c.choice === choice)), connection] };
}

export function removeConnection(story: CyoaStory, connectionId: string): CyoaStory {
  return { ...story, connections: story.connections.filter((connection) => connection.id !== connectionId) };
}

/**
 * Layered layout: each node's column is its depth (shortest number of choices)
 * from the start; unreachable nodes go in a last column. Rows follow discovery order.
 */
export function autoLayout(story: CyoaStory): CyoaStory {
  const depth = new Map<string, number>();
  const order: string[] = [];
  const known = new Set(story.nodes.map((node) => node.id));
  const start = story.startNodeId && known.has(story.startNodeId) ? story.startNodeId : story.nodes[0]?.id;
  if (start) {
    depth.set(start, 0);
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      order.push(id);
      const out = story.connections.filter((c) => c.from === id).sort((a, b) => CHOICE_ORDER.indexOf(a.choice) - CHOICE_ORDER.indexOf(b.choice));
      for (const connection of out) {
        if (!known.has(connection.to) || depth.has(connection.to)) continue;
        depth.set(connection.to, depth.get(id)! + 1);
        queue.push(connection.to);
      }
    }
  }
  const maxDepth = Math.max(0, ...depth.values());
  for (const node of story.nodes) {
    if (depth.has(node.id)) continue;
    depth.set(node.id, maxDepth + 1);
    order.push(node.id);
  }
  const rows = new Map<number, number>();
  const positions = new Map<string, { x: number; y: number }>();
  for (const id of order) {
    const column = depth.get(id)!;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    positions.set(id, { x: 40 + column * (NODE_WIDTH + 80), y: 40 + row * (NODE_HEIGHT + 50) });
  }
  return moveNodes(story, positions);
}

export const CHOICE_ORDER: readonly Choice[] = ['left', 'right', 'end', 'default'];
export const CHOICE_LABEL: Record<Choice, string> = { left: 'Left', right: 'Right', end: 'End', default: 'Default' };

/** Where the simulator goes from `nodeId` on `input`: end falls back to the default (timeout) connection. */
export function nextNode(story: CyoaStory, nodeId: string, input: 'left' | 'right' | 'end'): string | undefined {
  const out = story.connections.filter((connection) => connection.from === nodeId);
  const chosen = out.find((connection) => connection.choice === input) ?? (input === 'end' ? out.find((connection) => connection.choice === 'default') : undefined);
  return chosen?.to;
}
