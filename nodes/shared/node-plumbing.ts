import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { DeviceState } from '../../server/core/device-state';
import type { HubClient } from '../../server/remote/hub-client';
import { describeDevices, findDevice, playerRef } from './device-lookup';
import { hubStatusFor, type YotoHubNode } from './yoto-hub-node';

/** A node's own translations: `errors.noHub`, `errors.hubNotRunning`, `errors.noDevice` and `errors.unknownDevice` are used here. */
export type Translate = (key: string, values?: Record<string, string>) => string;

/**
 * The error class of a node's failures, already worded for the user: a Catch node shows one as
 * "<name>: <message>" (Node-RED uses the error's toString), e.g. "YotoCommandError: ...".
 */
export function nodeFailure(name: string): new (message: string) => Error {
  return class extends Error {
    override readonly name = name;
  };
}

/** A node type's translations: `t('status.noHub')` is RED._('<type>.status.noHub'). */
export function translator(RED: NodeAPI, type: string): Translate {
  return (key, values) => RED._(`${type}.${key}`, values);
}

/**
 * What a node that works on a hub starts with: its yoto-hub config node, its translations, and the
 * hub's status shown on the node until the node sets its own (hubStatusFor; without a hub, the node
 * says so). Call `stopHubStatus` on close.
 */
export function hubNodeParts(
  RED: NodeAPI,
  node: Node,
  type: string,
  hubId: string | undefined,
): { hubConfig: YotoHubNode | undefined; t: Translate; setStatus(status: NodeStatus): void; stopHubStatus(): void } {
  const hubConfig = hubConfigOf(RED, hubId);
  const t = translator(RED, type);
  const { setStatus, stop } = hubStatusFor(node, hubConfig, { status: t('status.noHub'), error: t('errors.noHub') });
  return { hubConfig, t, setStatus, stopHubStatus: stop };
}

/** The yoto-hub config node that a node's Hub setting names; undefined when it names none (or another type). */
export function hubConfigOf(RED: NodeAPI, id: string | undefined): YotoHubNode | undefined {
  if (!id) return undefined;
  // getNode returns the base Node type; the id comes from the editor's yoto-hub config field.
  const node = RED.nodes.getNode(id) as YotoHubNode | null;
  return node && node.type === 'yoto-hub' ? node : undefined;
}

/** The hub (in-process or remote), when it runs; otherwise a failure (made by `fail`, the node's own error class) saying why. */
export function runningHub(hubConfig: YotoHubNode | undefined, t: Translate, fail: (message: string) => Error): HubClient {
  if (!hubConfig) throw fail(t('errors.noHub'));
  const hub = hubConfig.client;
  if (!hub || hub.state !== 'running') throw fail(t('errors.hubNotRunning', { state: hub?.state ?? 'misconfigured' }));
  return hub;
}

/**
 * The running hub and the player a message is for: the node's own Player
 * setting, else `msg.device` (README "Nodes"). Every failure is a sentence for
 * the user (Catch nodes get it through `done(err)`).
 */
export function targetPlayer(
  hubConfig: YotoHubNode | undefined,
  configured: string | undefined,
  fromMsg: unknown,
  t: Translate,
  fail: (message: string) => Error,
): { hub: HubClient; state: DeviceState } {
  const hub = runningHub(hubConfig, t, fail);
  const ref = playerRef(configured, fromMsg);
  if (!ref.trim()) throw fail(t('errors.noDevice'));
  const devices = hub.devices.list();
  const state = findDevice(devices, ref);
  if (!state) throw fail(t('errors.unknownDevice', { device: ref.trim(), known: describeDevices(devices) }));
  return { hub, state };
}
