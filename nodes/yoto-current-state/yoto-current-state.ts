import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { PlayerSettingsChange } from '../../server/settings';
import { describeDevices, deviceSummary, findDevice, playerRef } from '../shared/device-lookup';
import { conditionHolds, conditionProblem, describeCondition, stateView, type StateCondition } from '../shared/state-condition';
import { hubNodeParts, nodeFailure } from '../shared/node-plumbing';

interface YotoCurrentStateNodeDef extends NodeDef {
  hub: string;
  /** Player id or name; blank: `msg.device`. */
  device: string;
  /** "if state is": route by a condition to two outputs. */
  haltIf: boolean;
  property: string;
  operator: string;
  value: string;
  /** Also read the player's settings into msg.settings. */
  withSettings: boolean;
  /** 1 or 2 */
  outputs: number | string;
}

const CurrentStateFailure = nodeFailure('YotoCurrentStateError');

/**
 * yoto current state: on each message, the player's cached state (no request
 * to the player) in msg.payload, optionally its settings in msg.settings; a
 * msg.settings object on the way in is written first (read-merge-write). With
 * "if state is" the message leaves by the first output when the condition
 * holds, by the second when it does not.
 */
export = function registerYotoCurrentState(RED: NodeAPI): void {
  function YotoCurrentStateNode(this: Node, config: YotoCurrentStateNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const { hubConfig, t, setStatus, stopHubStatus } = hubNodeParts(RED, node, 'yoto-current-state', config.hub);
    const condition: StateCondition | undefined = config.haltIf
      ? { property: config.property, operator: config.operator, value: String(config.value ?? '') } as StateCondition
      : undefined;
    const problem = condition ? conditionProblem(condition) : undefined;
    if (problem) node.error(t('errors.condition', { reason: problem }));

    node.on('input', (received: NodeMessageInFlow, send: (msg: NodeMessage | Array<NodeMessage | null>) => void, done: (err?: Error) => void) => {
      const msg = received as NodeMessageInFlow & Record<string, unknown>;
      (async () => {
        const hub = hubConfig?.client;
        if (!hub || hub.state !== 'running') throw new CurrentStateFailure(t('errors.hubNotRunning', { state: hub?.state ?? 'misconfigured' }));
        if (problem) throw new CurrentStateFailure(t('errors.condition', { reason: problem }));
        const ref = playerRef(config.device, msg['device']);
        if (!ref.trim()) throw new CurrentStateFailure(t('errors.noDevice'));
        const devices = hub.devices.list();
        const found = findDevice(devices, ref);
        if (!found) throw new CurrentStateFailure(t('errors.unknownDevice', { device: ref.trim(), known: describeDevices(devices) }));
        const change = msg['settings'];
        if (typeof change === 'object' && change !== null && !Array.isArray(change)) {
          try {
            msg['settings'] = await hub.updateSettings(found.deviceId, change as PlayerSettingsChange);
          } catch (error) {
            throw new CurrentStateFailure(t('errors.settings', { device: found.name, reason: error instanceof Error ? error.message : String(error) }));
          }
        } else if (config.withSettings) {
          msg['settings'] = await hub.settings(found.deviceId);
        }
        const state = hub.devices.get(found.deviceId) ?? found;
        const view = stateView(state);
        msg.payload = view;
        msg['data'] = state;
        msg['device'] = deviceSummary(state);
        if (!condition) {
          setStatus({ fill: 'green', shape: 'dot', text: `${state.name}: ${view.playback}` });
          send(msg);
        } else if (conditionHolds(view, condition)) {
          setStatus({ fill: 'green', shape: 'dot', text: `${describeCondition(condition)}: ${t('status.yes')}` });
          send([msg, null]);
        } else {
          setStatus({ fill: 'grey', shape: 'ring', text: `${describeCondition(condition)}: ${t('status.no')}` });
          send([null, msg]);
        }
        done();
      })().catch((error: unknown) => {
        setStatus({ fill: 'red', shape: 'ring', text: t('status.failed') });
        done(error instanceof Error ? error : new CurrentStateFailure(String(error)));
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      stopHubStatus();
      done();
    });
  }

  RED.nodes.registerType('yoto-current-state', YotoCurrentStateNode);
};
