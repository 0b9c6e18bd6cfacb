import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Node, NodeMessage } from 'node-red';
import type { TestFlowsItem } from 'node-red-node-test-helper';
import type { DeviceState } from '../../server/core/device-state';
import type { Hub } from '../../server/hub';
import type { YotoHubNode } from '../../nodes/shared/yoto-hub-node';
import { deviceStateWhere } from './device-state';
import { freePorts } from './free-port';

/** A node of a test flow, with the settings of its type. */
export type FlowNode = TestFlowsItem & Record<string, unknown>;

export const LIVING_ROOM = 'vliving0room0yoto0player';
export const KIDS_BEDROOM = 'vkids0bedroom0yoto0mini0';

/** A yoto-hub config node on free ports with a throwaway data directory (call `remove` after the test). */
export async function hubConfigNode(id = 'hub1'): Promise<{ node: FlowNode; dataDir: string; remove: () => void }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-node-test-'));
  const [httpPort, brokerPort, cloudPort] = await freePorts(3);
  const node: FlowNode = {
    id,
    type: 'yoto-hub',
    name: 'Test hub',
    logLevel: 'warn',
    httpPort: String(httpPort),
    embeddedBrokerPort: String(brokerPort),
    virtualCloudPort: String(cloudPort),
    dataDir,
  };
  return { node, dataDir, remove: () => fs.rmSync(dataDir, { recursive: true, force: true }) };
}

/** The hub of a deployed yoto-hub node, once it runs. */
export async function runningHub(node: Node | undefined): Promise<Hub> {
  const hub = (node as unknown as YotoHubNode | undefined)?.hub;
  if (!hub) throw new Error('the yoto-hub node has no hub');
  if (hub.state !== 'running') {
    await new Promise<void>((resolve, reject) =>
      hub.on('state', (state) => {
        if (state === 'running') resolve();
        else if (state === 'failed') reject(new Error('the hub failed to start'));
      }),
    );
  }
  return hub;
}

/** The hub of the deployed config node hub1, once it runs and knows what each of these players is playing (playbackKnown). */
export async function hubWithPlayers(helper: { getNode(id: string): Node }, ...deviceIds: string[]): Promise<Hub> {
  const hub = await runningHub(helper.getNode('hub1'));
  for (const deviceId of deviceIds) await playbackKnown(hub, deviceId);
  return hub;
}

/** Resolves once the hub knows what the player is playing (its first status arrived), so a change of it is an event. */
export function playbackKnown(hub: Hub, deviceId: string): Promise<DeviceState> {
  return deviceStateWhere(hub, deviceId, (state) => state.playback.state !== undefined);
}

/** Collects what a helper node receives; `next(n)` waits for the n-th message. */
export class Received<T extends NodeMessage = NodeMessage> {
  readonly messages: T[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(node: Node | undefined) {
    if (!node) throw new Error('no helper node');
    node.on('input', (msg: NodeMessage) => {
      this.messages.push(msg as T);
      this.waiters = this.waiters.filter((waiter) => {
        if (this.messages.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
  }

  /** Waits until `count` messages arrived in all. */
  async atLeast(count: number): Promise<T[]> {
    if (this.messages.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.messages;
  }

  /** Waits for the first message matching `predicate`. */
  async find(predicate: (msg: T) => boolean): Promise<T> {
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      await this.atLeast(this.messages.length + 1);
    }
  }
}

/**
 * The statuses a node shows, from the test helper's `call:status` events (the
 * helper spies on Node.prototype, so the spy's own calls mix every node's).
 */
export class Statuses {
  readonly seen: Array<{ fill?: string; shape?: string; text?: string }> = [];
  private waiters: Array<() => void> = [];

  constructor(node: Node | undefined) {
    if (!node) throw new Error('no node');
    // The test helper emits `call:<method>` on the node with the sinon call.
    (node as unknown as NodeJS.EventEmitter).on('call:status', (call: { args: unknown[] }) => {
      this.seen.push(call.args[0] as { fill?: string; shape?: string; text?: string });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get last(): { fill?: string; shape?: string; text?: string } | undefined {
    return this.seen.at(-1);
  }

  /** Waits until a status with this text shows (or showed). */
  async text(text: string): Promise<{ fill?: string; shape?: string; text?: string }> {
    for (;;) {
      const found = this.seen.find((status) => status.text === text);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

type HubConfigNode = Awaited<ReturnType<typeof hubConfigNode>>;

/** The parts of node-red-node-test-helper the hooks below use. */
interface NodeTestServer {
  startServer(done: () => void): void;
  stopServer(done: () => void): void;
  unload(): Promise<void>;
}

/**
 * The mocha hooks every Yoto node suite needs: the Node-RED test server for the
 * suite, a yoto-hub config node on free ports with a throwaway data directory
 * for each test, and the flow unloaded and the data removed after it. Returns
 * the current test's config node.
 */
export function useHubConfigPerTest(helper: NodeTestServer): () => HubConfigNode {
  let current: HubConfigNode | undefined;
  before(async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
  });
  beforeEach(async () => {
    current = await hubConfigNode();
  });
  afterEach(async () => {
    await helper.unload();
    current?.remove();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('the hub config node exists only while a test runs');
    return current;
  };
}

/** A test flow on tab f1: the current test's yoto-hub config node (useHubConfigPerTest), then `nodes`. */
export function onTestTab(hubConfig: () => HubConfigNode, ...nodes: FlowNode[]): FlowNode[] {
  return [{ id: 'f1', type: 'tab', label: 'test' } as FlowNode, hubConfig().node, ...nodes];
}

/** Test helper nodes on tab f1 with these ids, to read what reaches them (Received). */
export function sinks(...ids: string[]): FlowNode[] {
  return ids.map((id) => ({ id, type: 'helper', z: 'f1' }) as FlowNode);
}

/** A catch node for all of tab f1, wired to the helper `caught`. */
export function catchAll(): FlowNode[] {
  return [{ id: 'catch1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] } as FlowNode, ...sinks('caught')];
}

/** What a catch node sends: the error a node reported with done(err). */
export interface CaughtMessage extends NodeMessage {
  error: { message: string; source: { id: string; type: string } };
}

/** Stores the playlist script `bedtime` ("Bedtime playlist") of these library files, as the node tests play it; answers its id. */
export async function storeBedtimePlaylist(hub: Hub, fileIds: readonly string[]): Promise<string> {
  const at = new Date().toISOString();
  await hub.store.scripts.insert({
    id: 'bedtime',
    userId: 'node-red',
    name: 'Bedtime playlist',
    type: 'playlist',
    definition: { tracks: fileIds.map((audioFileId) => ({ audioFileId })) },
    createdAt: at,
    updatedAt: at,
  });
  return 'bedtime';
}
