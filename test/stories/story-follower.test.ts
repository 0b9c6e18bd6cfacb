import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeviceRegistry } from '../../server/core/device-registry';
import { initialState, type DeviceState } from '../../server/core/device-state';
import type { RequestUser } from '../../server/http/request-user';
import type { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import { fromTwee, type Story } from '../../server/stories';
import { storyDeployer } from '../../server/stories/deploy-story';
import { StoryFollower, viaOf } from '../../server/stories/story-follower';
import type { DeviceEvent, Script } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';
import { eventPayload } from '../../server/core/device-views';
import { openStore, type Store } from '../../server/store/store';
import { storeValidator } from '../../server/store/store-validator';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { spyDir, spyTwee, story as makeStory } from './helpers';

const PLAYER = 'vkids0bedroom0yoto0mini0';
// An admin: a player nobody has claimed is an admin's only (README "Ownership and deletion"); ownership is not this suite's subject.
const OWNER: RequestUser = { id: 'user-follower', email: 'follower@example.test', role: 'admin' };

describe('StoryFollower: a deployed story card played on a virtual player', function () {
  this.timeout(60_000);
  let hub: Hub;
  let story: Story;
  const events: DeviceEvent[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  // The hub runs its own StoryFollower; these are the events it records.
  const onEvent = (event: DeviceEvent): void => {
    if (event.type !== 'story_node_entered' || event.deviceId !== PLAYER) return;
    events.push(event);
    for (const waiter of waiters.splice(0)) {
      if (events.length >= waiter.count) waiter.resolve();
      else waiters.push(waiter);
    }
  };

  before(async () => {
    hub = await startTestHub();
    const fileOf = new Map<string, string>();
    for (const file of fs.readdirSync(path.join(spyDir, 'audio'))) {
      const imported = await hub.library.files.importFile(path.join(spyDir, 'audio', file), { userId: OWNER.id });
      fileOf.set(path.basename(file, '.mp3'), imported.id);
    }
    // End has no recording of its own: it reuses SolveRiddle's.
    fileOf.set('End', fileOf.get('SolveRiddle')!);
    const imported = fromTwee(spyTwee(), { audioFor: (name) => fileOf.get(name), id: 'spy-follow', userId: OWNER.id });
    story = await hub.store.stories.insert(imported.story);
  });
  after(async () => {
    hub?.devices.bus.off(onEvent);
    await stopTestHub(hub);
  });

  /** Resolves once `count` node events have arrived. */
  const nodeEvents = async (count: number): Promise<DeviceEvent[]> => {
    if (events.length < count) await new Promise<void>((resolve) => waiters.push({ count, resolve }));
    return events;
  };
  const last = (): Record<string, unknown> => events[events.length - 1]!.data;

  it('records story_node_entered with the node and how it was reached', async () => {
    hub.devices.bus.on(onEvent, 'event', onEvent);
    const deploy = storyDeployer(hub.store, (scriptId, deviceId, user) => hub.scripts.deploy(scriptId, deviceId, user));
    const seenBeforeDeploy = events.length;
    await deploy(story, PLAYER, OWNER);
    const script = hub.store.scripts.list((s): s is Script => s.type === 'cyoa' && s.definition.storyId === story.id)[0]!;
    expect(script.cardId).to.be.a('string');

    await nodeEvents(seenBeforeDeploy + 1);
    expect(last()).to.include({ storyId: story.id, nodeId: 'Start', via: 'start', cardId: script.cardId, scriptId: script.id, chapterKey: '01' });

    const player = hub.cloud.virtualCloud!.fleet.player(PLAYER)!;
    const steps: Array<['left' | 'right', string]> = [
      ['right', 'SearchElsewhere'],
      ['left', 'Start'],
      ['left', 'SolveRiddle'],
      ['right', 'End'],
      ['left', 'Start'],
    ];
    let previous = 'Start';
    for (const [button, nodeId] of steps) {
      const seen = events.length;
      await player.press(button);
      await nodeEvents(seen + 1);
      expect(last(), `${button} from ${previous}`).to.include({ storyId: story.id, nodeId, via: button, previousNodeId: previous });
      previous = nodeId;
    }

    // Every event is valid for the event log and, as published, for yoto/<id>/events.
    const validator = getValidator();
    for (const event of events) {
      validator.validate('event', event);
      const payload = validator.validate('broker-event', eventPayload(event));
      expect(payload).to.include({ type: 'story_node_entered', story_id: story.id, node_id: event.data['nodeId'] });
    }
    // ...and in the event log.
    const logged = await hub.store.events.query({ deviceId: PLAYER, types: ['story_node_entered'], limit: 1000 });
    expect(logged.length).to.be.at.least(events.length);
  });

  it('the end of a passage\'s audio is reported as via "end"', async () => {
    const player = hub.cloud.virtualCloud!.fleet.player(PLAYER)!;
    const seen = events.length;
    await player.press('right'); // Start -> SearchElsewhere, whose audio ends into End
    await nodeEvents(seen + 1);
    expect(last()).to.include({ nodeId: 'SearchElsewhere', via: 'right' });
    await nodeEvents(seen + 2);
    expect(last()).to.include({ nodeId: 'End', via: 'end', previousNodeId: 'SearchElsewhere' });
  });
});

describe('StoryFollower: mapping chapters to nodes (registry only)', () => {
  const DEVICE = 'dev-1';
  const twoWay = makeStory({
    id: 'two',
    userId: 'u',
    startNodeId: 'a',
    nodes: [
      { id: 'a', title: 'A', position: { x: 0, y: 0 } },
      { id: 'b', title: 'B', position: { x: 0, y: 0 } },
      { id: 'c', title: 'C', position: { x: 0, y: 0 } },
    ],
    connections: [
      { id: 'c1', from: 'a', to: 'b', choice: 'left' },
      { id: 'c2', from: 'a', to: 'c', choice: 'default', timeoutSeconds: 5 },
      { id: 'c3', from: 'b', to: 'c', choice: 'end' },
    ],
  });
  const script = { id: 'script-1', userId: 'u', name: 'Two', type: 'cyoa', definition: { storyId: 'two' }, cardId: 'card1', createdAt: twoWay.createdAt, updatedAt: twoWay.updatedAt } as Script;
  // A real store (db.json in a temporary folder) holding the story and the script deployed as card1.
  let store: Store;
  before(async () => {
    store = await openStore({ dataDir: await makeTempDir('story-follower'), validate: storeValidator() });
    await store.stories.insert(twoWay);
    await store.scripts.insert(script);
  });
  after(async () => {
    await store.close();
    await removeTempDirs();
  });

  const state = (cardId: string | undefined, chapterKey: string | undefined): DeviceState => {
    const base = initialState(DEVICE, new Date(), undefined, true);
    return { ...base, playback: { ...base.playback, ...(cardId ? { cardId, hasCard: true } : { hasCard: false }), ...(chapterKey ? { chapterKey } : {}) } };
  };
  const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('maps by chapter key, reports start, left and end (default), resets when the card goes', async () => {
    const registry = new DeviceRegistry();
    const follower = new StoryFollower({ store, registry, logger: silentLogger });
    const seen: Record<string, unknown>[] = [];
    registry.bus.on('test', 'event', (e) => seen.push(e.data));
    follower.start();
    let current = state(undefined, undefined);
    const go = async (cardId: string | undefined, chapterKey: string | undefined): Promise<void> => {
      const next = state(cardId, chapterKey);
      registry.bus.emit('state', next, current);
      current = next;
      await flush();
    };
    await go('card1', '01');
    await go('card1', '02'); // a -left-> b (breadth first: a=01, b=02, c=03)
    await go('card1', '03'); // b -end-> c
    await go(undefined, undefined);
    await go('card1', '03'); // inserted again at c: not along a connection
    await go('other', '01'); // not a story card: nothing
    expect(seen.map((d) => [d['nodeId'], d['via']])).to.deep.equal([
      ['a', 'start'],
      ['b', 'left'],
      ['c', 'end'],
      ['c', 'start'],
    ]);
    follower.stop();
    expect(registry.bus.listenerCount('state')).to.equal(0);
    expect(registry.bus.listenerCount('device-removed')).to.equal(0);
  });

  it('viaOf: left, right, then the automatic way; nothing else is "start"', () => {
    expect(viaOf({ left: { id: '1', from: 'a', to: 'b', choice: 'left' } }, 'b')).to.equal('left');
    expect(viaOf({ right: { id: '1', from: 'a', to: 'b', choice: 'right' } }, 'b')).to.equal('right');
    expect(viaOf({ default: { id: '1', from: 'a', to: 'b', choice: 'default' } }, 'b')).to.equal('end');
    expect(viaOf({ left: { id: '1', from: 'a', to: 'b', choice: 'left' } }, 'x')).to.equal('start');
    expect(viaOf(undefined, 'x')).to.equal('start');
  });
});
