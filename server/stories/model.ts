import type { CyoaConnection, CyoaExpectation, CyoaNode, CyoaStory } from '../types/schemas';

/**
 * The story model (schemas/cyoa-story.schema.json): nodes are audio passages,
 * connections are the choices between them. Types come from the schema.
 */
export type Story = CyoaStory;
export type StoryNode = CyoaNode;
export type StoryConnection = CyoaConnection;
export type StoryExpectation = CyoaExpectation;

/** How a connection is taken: a button, the end of the passage's audio, or no choice within the timeout. */
export type Choice = StoryConnection['choice'];
export const CHOICES: readonly Choice[] = ['left', 'right', 'end', 'default'];

/** What a listener (or the house) does while a passage plays. */
export type StoryInput = 'left' | 'right' | 'end' | 'timeout';

/** Ids, keys and file ids: letters, digits, '-' and '_' (safe in URLs, topics and file names). */
export const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The ways on from one node, at most one per choice (the first one wins when a story has more). */
export interface Exits {
  left?: StoryConnection;
  right?: StoryConnection;
  end?: StoryConnection;
  default?: StoryConnection;
}

/** Nodes by id and each node's exits, built once in O(nodes + connections). */
export interface StoryIndex {
  nodes: Map<string, StoryNode>;
  exits: Map<string, Exits>;
}

export function indexStory(story: Pick<Story, 'nodes' | 'connections'>): StoryIndex {
  const nodes = new Map<string, StoryNode>();
  for (const node of story.nodes) if (!nodes.has(node.id)) nodes.set(node.id, node);
  const exits = new Map<string, Exits>();
  for (const connection of story.connections) {
    let found = exits.get(connection.from);
    if (!found) {
      found = {};
      exits.set(connection.from, found);
    }
    if (found[connection.choice] === undefined) found[connection.choice] = connection;
  }
  return { nodes, exits };
}

/** The connection taken when the passage's audio ends: `end`, else `default` (a player has no timer of its own). */
export function automaticExit(exits: Exits | undefined): StoryConnection | undefined {
  return exits?.end ?? exits?.default;
}

/**
 * Nodes reachable from `startId` along connections to existing nodes, in
 * breadth-first order (the start first), with each node's depth. Iterative.
 */
export function reachableFrom(index: StoryIndex, startId: string): { order: string[]; depth: Map<string, number> } {
  const order: string[] = [];
  const depth = new Map<string, number>();
  if (!index.nodes.has(startId)) return { order, depth };
  depth.set(startId, 0);
  order.push(startId);
  for (let head = 0; head < order.length; head++) {
    const id = order[head]!;
    const exits = index.exits.get(id);
    if (!exits) continue;
    for (const choice of CHOICES) {
      const target = exits[choice]?.to;
      if (target === undefined || depth.has(target) || !index.nodes.has(target)) continue;
      depth.set(target, depth.get(id)! + 1);
      order.push(target);
    }
  }
  return { order, depth };
}
