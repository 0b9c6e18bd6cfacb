import type { DeviceRegistry } from '../core/device-registry';
import type { DeviceState } from '../core/device-state';
import type { Logger } from '../log/logger';
import type { Store } from '../store';
import { compileToCard } from './compile-card';
import { indexStory, type Exits, type Story } from './model';

/** How a node was reached: a button, the end of the previous passage's audio (or its default), or not along a connection (the card started, or playback jumped). */
export type StoryNodeVia = 'left' | 'right' | 'end' | 'start';

/** The `data` of a `story_node_entered` event. */
export interface StoryNodeEnteredData {
  storyId: string;
  nodeId: string;
  via: StoryNodeVia;
  scriptId: string;
  cardId: string;
  chapterKey: string;
  /** The node the player was in before, when it was in this story. */
  previousNodeId?: string;
  /** The node's title (the passage name). */
  title?: string;
}

export interface StoryFollowerOptions {
  store: Pick<Store, 'scripts' | 'stories'>;
  registry: Pick<DeviceRegistry, 'bus' | 'list' | 'now'>;
  logger: Logger;
}

interface StoryMap {
  /** The story's updatedAt when the map was made. */
  version: string;
  chapterToNode: Record<string, string>;
  exits: Map<string, Exits>;
  titles: Map<string, string>;
}

interface Position {
  cardId: string;
  chapterKey: string;
  storyId: string;
  nodeId: string;
}

/**
 * Follows compiled stories while their cards play (DESIGN.md section 8): a
 * player's chapter changes on a card deployed by a `cyoa` script are mapped
 * back to story nodes and recorded as `story_node_entered` events on the
 * device registry, so they reach the event log, the home broker
 * (yoto/<id>/events), the WebSocket gateway and yoto-device-in like any other
 * event.
 *
 * The chapter -> node map is recomputed with the story compiler, which is
 * deterministic: the same story gives the same chapter keys. It is cached per
 * story version (updatedAt). A story edited after its deploy maps by its new
 * version until it is deployed again.
 */
export class StoryFollower {
  private readonly logger: Logger;
  private readonly maps = new Map<string, StoryMap>();
  private readonly positions = new Map<string, Position>();
  private running = false;

  private readonly onState = (state: DeviceState, previous: DeviceState): void => {
    const { cardId, chapterKey } = state.playback;
    if (cardId === previous.playback.cardId && chapterKey === previous.playback.chapterKey) return;
    // The bus delivers what this publishes after the change's own events (track_changed first, then the node entered).
    if (this.running) this.observe(state, true);
  };

  private readonly onRemoved = (deviceId: string): void => {
    this.positions.delete(deviceId);
  };

  constructor(private readonly options: StoryFollowerOptions) {
    this.logger = options.logger.child({ component: 'story-follower' });
  }

  /** Starts listening; players already on a story card are followed from where they are, with no event. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { registry } = this.options;
    registry.bus.on(this, 'state', this.onState);
    registry.bus.on(this, 'device-removed', this.onRemoved);
    for (const state of registry.list()) this.observe(state, false);
  }

  /** Removes the listeners and forgets every position. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    const { registry } = this.options;
    registry.bus.off(this);
    this.positions.clear();
    this.maps.clear();
  }

  /** The story node a player is in now, as far as the follower knows. */
  positionOf(deviceId: string): { storyId: string; nodeId: string } | undefined {
    const position = this.positions.get(deviceId);
    return position ? { storyId: position.storyId, nodeId: position.nodeId } : undefined;
  }

  private observe(state: DeviceState, emit: boolean): void {
    const { deviceId } = state;
    const { cardId, chapterKey } = state.playback;
    const before = this.positions.get(deviceId);
    if (cardId === undefined || chapterKey === undefined) {
      // No card: the next time the story card plays, it starts again.
      if (cardId === undefined) this.positions.delete(deviceId);
      return;
    }
    if (before && before.cardId === cardId && before.chapterKey === chapterKey) return;
    const found = this.storyFor(cardId);
    if (!found) {
      this.positions.delete(deviceId);
      return;
    }
    const { story, scriptId, map } = found;
    const nodeId = map.chapterToNode[chapterKey];
    if (nodeId === undefined) {
      this.logger.debug('chapter is not a node of the story', { deviceId, cardId, chapterKey, storyId: story.id });
      this.positions.delete(deviceId);
      return;
    }
    const previousNodeId = before && before.cardId === cardId && before.storyId === story.id ? before.nodeId : undefined;
    this.positions.set(deviceId, { cardId, chapterKey, storyId: story.id, nodeId });
    if (!emit) return;
    const via = previousNodeId !== undefined ? viaOf(map.exits.get(previousNodeId), nodeId) : 'start';
    const title = map.titles.get(nodeId);
    const data: StoryNodeEnteredData = {
      storyId: story.id,
      nodeId,
      via,
      scriptId,
      cardId,
      chapterKey,
      ...(previousNodeId !== undefined ? { previousNodeId } : {}),
      ...(title !== undefined ? { title } : {}),
    };
    // A derived event, published on the bus (not written back into the registry from inside its own event).
    this.options.registry.bus.publishEvent(deviceId, 'story_node_entered', { ...data }, this.options.registry.now());
  }

  /** The story whose cyoa script deployed this card, with its chapter map. */
  private storyFor(cardId: string): { story: Story; scriptId: string; map: StoryMap } | undefined {
    const { store } = this.options;
    const script = store.scripts.list((s) => s.type === 'cyoa' && s.cardId === cardId)[0];
    if (!script || script.type !== 'cyoa') return undefined;
    const story = store.stories.get(script.definition.storyId);
    if (!story) return undefined;
    const map = this.mapOf(story);
    return map ? { story, scriptId: script.id, map } : undefined;
  }

  private mapOf(story: Story): StoryMap | undefined {
    const cached = this.maps.get(story.id);
    if (cached && cached.version === story.updatedAt) return cached;
    try {
      // Only the keys matter here: the compiler numbers nodes the same way whatever the URLs.
      const { chapterToNode } = compileToCard(story, { trackUrl: () => 'yoto:#follower' });
      const index = indexStory(story);
      const titles = new Map([...index.nodes.values()].map((node) => [node.id, node.title]));
      const map: StoryMap = { version: story.updatedAt, chapterToNode, exits: index.exits, titles };
      this.maps.set(story.id, map);
      return map;
    } catch (error) {
      this.logger.warn('cannot follow a story: it does not compile', { storyId: story.id, err: error });
      this.maps.delete(story.id);
      return undefined;
    }
  }
}

/**
 * Which of the previous node's ways leads to `nodeId`: left, right, then the
 * automatic one (end, else default). When two lead to the same node the
 * player cannot tell which was taken; the first in that order is reported.
 * No connection leads there: playback jumped (a deploy at a chapter, the app).
 */
export function viaOf(exits: Exits | undefined, nodeId: string): StoryNodeVia {
  if (exits?.left?.to === nodeId) return 'left';
  if (exits?.right?.to === nodeId) return 'right';
  if ((exits?.end ?? exits?.default)?.to === nodeId) return 'end';
  return 'start';
}
