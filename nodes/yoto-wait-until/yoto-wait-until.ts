import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { DeviceState } from '../../server/core/device-state';
import { describeDevices, deviceSummary, findDevice, playerRef } from '../shared/device-lookup';
import { conditionHolds, conditionProblem, describeCondition, stateView, type StateCondition } from '../shared/state-condition';
import { hubNodeParts, nodeFailure } from '../shared/node-plumbing';

interface YotoWaitUntilNodeDef extends NodeDef {
  hub: string;
  device: string;
  property: string;
  operator: string;
  value: string;
  /** Seconds the condition must hold before the message goes on (0: at once). */
  forSeconds: string | number;
  /** Seconds to wait at most (0: no limit); then the message leaves by the second output. */
  timeout: string | number;
  /** Pass at once when the condition already holds when the message arrives. */
  checkCurrent: boolean;
}

const WaitFailure = nodeFailure('YotoWaitUntilError');

interface PendingWait {
  deviceId: string;
  msg: NodeMessageInFlow & Record<string, unknown>;
  send: (msg: Array<NodeMessage | null>) => void;
  done: (err?: Error) => void;
  timeoutTimer?: NodeJS.Timeout;
  holdTimer?: NodeJS.Timeout;
}

/**
 * yoto wait until: holds each message until a condition on a player holds
 * (e.g. playback is stopped, card is none), optionally for N seconds, then
 * sends it on by the first output; after the timeout by the second. A new
 * message replaces the one waiting (like Home Assistant's wait-until node);
 * closing the node (redeploy) drops the wait and every timer and listener.
 */
export = function registerYotoWaitUntil(RED: NodeAPI): void {
  function YotoWaitUntilNode(this: Node, config: YotoWaitUntilNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const { hubConfig, t, setStatus, stopHubStatus } = hubNodeParts(RED, node, 'yoto-wait-until', config.hub);
    const condition = { property: config.property, operator: config.operator, value: String(config.value ?? '') } as StateCondition;
    const problem = conditionProblem(condition);
    if (problem) node.error(t('errors.condition', { reason: problem }));
    const forMs = Math.max(0, Number(config.forSeconds) || 0) * 1000;
    const timeoutMs = Math.max(0, Number(config.timeout) || 0) * 1000;
    let pending: PendingWait | undefined;
    let detach: (() => void) | undefined;

    const clearTimers = (wait: PendingWait): void => {
      clearTimeout(wait.timeoutTimer);
      clearTimeout(wait.holdTimer);
      wait.timeoutTimer = undefined;
      wait.holdTimer = undefined;
    };
    /** Takes the waiting message out: its timers and its listener on the player stop. */
    const take = (): PendingWait | undefined => {
      const wait = pending;
      if (!wait) return undefined;
      pending = undefined;
      clearTimers(wait);
      detach?.();
      detach = undefined;
      return wait;
    };
    const finish = (matched: boolean, state: DeviceState | undefined): void => {
      const wait = take();
      if (!wait) return;
      if (state) {
        wait.msg.payload = stateView(state);
        wait.msg['device'] = deviceSummary(state);
      }
      setStatus(matched ? { fill: 'green', shape: 'dot', text: t('status.matched') } : { fill: 'yellow', shape: 'ring', text: t('status.timedOut') });
      wait.send(matched ? [wait.msg, null] : [null, wait.msg]);
      wait.done();
    };
    /** Re-evaluates on every change of the player: holding starts the "for" timer, letting go stops it. */
    const evaluate = (state: DeviceState): void => {
      const wait = pending;
      if (!wait || state.deviceId !== wait.deviceId) return;
      if (conditionHolds(stateView(state), condition)) {
        if (forMs === 0) return finish(true, state);
        if (!wait.holdTimer) wait.holdTimer = setTimeout(() => finish(true, hubConfig?.client?.devices.get(wait.deviceId) ?? state), forMs);
      } else if (wait.holdTimer) {
        clearTimeout(wait.holdTimer);
        wait.holdTimer = undefined;
      }
    };
    /** A message replaced by a newer one, or dropped by a redeploy, ends without being sent. */
    const drop = (): void => {
      take()?.done();
    };

    node.on('input', (received: NodeMessageInFlow, send: (msg: NodeMessage | Array<NodeMessage | null>) => void, done: (err?: Error) => void) => {
      const msg = received as NodeMessageInFlow & Record<string, unknown>;
      const hub = hubConfig?.client;
      if (!hub || hub.state !== 'running') return done(new WaitFailure(t('errors.hubNotRunning', { state: hub?.state ?? 'misconfigured' })));
      if (problem) return done(new WaitFailure(t('errors.condition', { reason: problem })));
      const ref = playerRef(config.device, msg['device']);
      if (!ref.trim()) return done(new WaitFailure(t('errors.noDevice')));
      const devices = hub.devices.list();
      const state = findDevice(devices, ref);
      if (!state) return done(new WaitFailure(t('errors.unknownDevice', { device: ref.trim(), known: describeDevices(devices) })));
      drop();
      const wait: PendingWait = { deviceId: state.deviceId, msg, send, done };
      pending = wait;
      const registry = hub.devices;
      detach = registry.bus.on(node, 'state', (next: DeviceState) => evaluate(next));
      if (timeoutMs > 0) wait.timeoutTimer = setTimeout(() => finish(false, registry.get(wait.deviceId)), timeoutMs);
      setStatus({ fill: 'blue', shape: 'ring', text: t('status.waiting', { condition: describeCondition(condition), device: state.name }) });
      if (config.checkCurrent !== false) evaluate(state);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      drop();
      stopHubStatus();
      done();
    });
  }

  RED.nodes.registerType('yoto-wait-until', YotoWaitUntilNode);
};
