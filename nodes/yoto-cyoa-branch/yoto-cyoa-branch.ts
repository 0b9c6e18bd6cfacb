import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { indexStory, type Exits } from '../../server/stories/model';
import type { DeviceEvent } from '../../server/types/schemas';
import { hubConfigOf, nodeFailure, targetPlayer, translator } from '../shared/node-plumbing';
import { choiceOfEvent, choiceOfMessage, outputIndex, OUTPUTS, type BranchMode, type Choice } from './choice-routing';

/** The settings the editor stores (and the story compiler writes: hub, device, storyId, storyNodeId, timeout). */
interface YotoCyoaBranchNodeDef extends NodeDef {
  hub?: string;
  /** message: only msg.choice chooses; player: the player's buttons/chapters too; story: as player, following a story node's exits. Blank: story when a story is set, player when a device is set, else message. */
  mode?: string;
  /** Player id or name; `msg.device` overrides it. */
  device?: string;
  storyId?: string;
  storyNodeId?: string;
  /** Seconds to wait for a choice; 0 or blank: wait until a choice comes. */
  timeout?: string | number;
}

const BranchFailure = nodeFailure('YotoCyoaBranchError');

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

interface Pending {
  msg: NodeMessageInFlow & Record<string, unknown>;
  send: Send;
  done: Done;
  timer: NodeJS.Timeout | undefined;
  /** Stops listening to the player, while waiting for its choice. */
  unsubscribe: (() => void) | undefined;
}

export = function registerYotoCyoaBranch(RED: NodeAPI): void {
  function YotoCyoaBranchNode(this: Node, config: YotoCyoaBranchNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = translator(RED, 'yoto-cyoa-branch');
    const mode: BranchMode =
      config.mode === 'message' || config.mode === 'player' || config.mode === 'story' ? config.mode : config.storyId ? 'story' : config.device ? 'player' : 'message';
    const timeoutSeconds = Number(config.timeout ?? 0);
    const timeoutMs = Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 : 0;
    // getNode returns the base Node type; the id comes from the editor's yoto-hub config field.
    const hubConfig = hubConfigOf(RED, config.hub);
    if (mode !== 'message' && !hubConfig) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.noHub') });
      node.error(t('errors.noHub'));
    }

    let pending: Pending | undefined;

    /** Ends the wait: timer and listener gone, the message routed (or dropped when `choice` is undefined). */
    const finish = (choice: Choice | 'timeout' | undefined, by: string, event?: DeviceEvent): void => {
      const current = pending;
      pending = undefined;
      if (!current) return;
      if (current.timer) clearTimeout(current.timer);
      current.unsubscribe?.();
      if (choice === undefined) {
        current.done();
        return;
      }
      route(current.msg, current.send, choice, by, event);
      current.done();
    };

    const route = (msg: NodeMessage & Record<string, unknown>, send: Send, choice: Choice | 'timeout', by: string, event?: DeviceEvent): void => {
      const index = outputIndex(choice);
      msg['choice'] = choice;
      msg['branch'] = { choice, output: OUTPUTS[index], by, ...(event ? { event: { type: event.type, deviceId: event.deviceId, timestamp: event.timestamp, data: event.data } } : {}) };
      const out: Array<NodeMessage | null> = [null, null, null, null];
      out[index] = msg;
      node.status({ fill: choice === 'timeout' ? 'yellow' : 'green', shape: 'dot', text: t('status.routed', { output: OUTPUTS[index] ?? choice, by }) });
      send(out);
    };

    const storyExits = async (): Promise<Exits | undefined> => {
      if (mode !== 'story' || !config.storyId || !config.storyNodeId) return undefined;
      const story = hubConfig?.client?.state === 'running' ? await hubConfig.client.story(config.storyId) : undefined;
      return story ? indexStory(story).exits.get(config.storyNodeId) : undefined;
    };

    node.on('input', (received: NodeMessageInFlow, send: Send, done: Done) => {
      // Node-RED messages are open objects: msg.choice and msg.device are read by name.
      const msg = received as NodeMessageInFlow & Record<string, unknown>;
      const choice = choiceOfMessage(msg);
      if (choice !== undefined) {
        if (pending) {
          // A chooser (a button, a sensor, a dashboard): the waiting message leaves by its choice.
          finish(choice, 'message');
          done();
        } else {
          route(msg, send, choice, 'message');
          done();
        }
        return;
      }
      // A new message without a choice supersedes the one waiting.
      finish(undefined, 'superseded');
      try {
        const next: Pending = { msg, send, done, timer: undefined, unsubscribe: undefined };
        if (mode !== 'message') {
          const { hub, state } = targetPlayer(hubConfig, config.device, msg['device'], t, (message) => new BranchFailure(message));
          // The story's exits come from the hub (over the network for a remote one): the player's
          // events that come before them wait, in order, so no choice is lost or misread.
          let exits: Exits | undefined;
          let early: DeviceEvent[] | undefined = [];
          const decide = (event: DeviceEvent): void => {
            const chosen = choiceOfEvent(event, mode, exits);
            if (chosen !== undefined && pending === next) finish(chosen, 'player', event);
          };
          const listener = (event: DeviceEvent): void => {
            if (event.deviceId !== state.deviceId) return;
            if (early) early.push(event);
            else decide(event);
          };
          const ready = (found: Exits | undefined): void => {
            exits = found;
            const waiting = early ?? [];
            early = undefined;
            for (const event of waiting) decide(event);
          };
          storyExits().then(ready, (error: unknown) => {
            node.warn(t('errors.story', { reason: error instanceof Error ? error.message : String(error) }));
            ready(undefined);
          });
          next.unsubscribe = hub.devices.bus.on(node, 'event', listener);
        }
        if (timeoutMs > 0) {
          next.timer = setTimeout(() => finish('timeout', 'timeout'), timeoutMs);
        }
        pending = next;
        node.status({ fill: 'blue', shape: 'ring', text: timeoutMs > 0 ? t('status.waitingFor', { seconds: String(timeoutSeconds) }) : t('status.waiting') });
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: t('status.failed') });
        done(error instanceof BranchFailure ? error : new BranchFailure(error instanceof Error ? error.message : String(error)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      finish(undefined, 'closed');
      done();
    });
  }

  RED.nodes.registerType('yoto-cyoa-branch', YotoCyoaBranchNode);
};
