import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { eventPayload, playbackPayload, statusPayload } from '../../server/core/device-views';
import type { HubClient, HubClientDevices } from '../../server/remote/hub-client';
import type { DeviceState } from '../../server/core/device-state';
import type { CloudState } from '../../server/cloud/cloud-connection';
import type { HubState } from '../../server/hub';
import type { DeviceEvent } from '../../server/types/schemas';
import { deviceSummary, type DeviceSummary } from '../shared/device-lookup';
import { hubConfigOf } from '../shared/node-plumbing';

/** The normalized event types (schemas/event.schema.json), in the editor's order. */
const DEVICE_EVENT_TYPES: readonly DeviceEvent['type'][] = [
  'card_inserted',
  'card_removed',
  'playback_started',
  'playback_paused',
  'playback_stopped',
  'track_changed',
  'volume_changed',
  'battery_low',
  'online',
  'offline',
  'shutdown',
  'alert',
  'story_node_entered',
  'command_failed',
  'button_press',
  'announcement_started',
  'announcement_finished',
  'announcement_failed',
];

/** The settings the editor stores. */
interface YotoDeviceInNodeDef extends NodeDef {
  hub: string;
  /** `all` players, the one with this `id`, or the one(s) with this `name`. */
  deviceMode: 'all' | 'id' | 'name';
  device: string;
  /** The event types to pass on. */
  events: string[];
  /** Send each player's status and playback on deploy, when the cloud reconnects and when a player comes back online. */
  emitState: boolean;
}

/** What the node sends: the payload of the yoto/{id}/{kind} topic the house sees on MQTT. */
interface YotoDeviceMessage extends NodeMessage {
  topic: string;
  payload: unknown;
  device: DeviceSummary;
}

export = function registerYotoDeviceIn(RED: NodeAPI): void {
  function YotoDeviceInNode(this: Node, config: YotoDeviceInNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const hubConfig = hubConfigOf(RED, config.hub);
    if (!hubConfig) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('yoto-device-in.status.noHub') });
      node.error(RED._('yoto-device-in.errors.noHub'));
      return;
    }
    const wanted = new Set(Array.isArray(config.events) ? config.events : DEVICE_EVENT_TYPES);
    const deviceRef = (config.device ?? '').trim();
    const mode = config.deviceMode === 'id' || config.deviceMode === 'name' ? config.deviceMode : 'all';
    const matches = (state: Pick<DeviceState, 'deviceId' | 'name'>): boolean => {
      if (mode === 'id') return state.deviceId === deviceRef;
      if (mode === 'name') return state.name.trim().toLowerCase() === deviceRef.toLowerCase();
      return true;
    };

    let registry: HubClientDevices | undefined;
    let hubStatus: NodeStatus | undefined;
    let lastEvent: string | undefined;
    /** Players whose state is to be sent once the hub knows it (playback not reported yet). */
    const pendingState = new Set<string>();

    const render = (): void => {
      if (!registry) {
        node.status(hubStatus ?? { fill: 'yellow', shape: 'ring', text: RED._('yoto-device-in.status.waiting') });
        return;
      }
      const states = registry.list().filter(matches);
      const suffix = lastEvent ? RED._('yoto-device-in.status.lastEvent', { event: lastEvent }) : '';
      if (mode !== 'all') {
        const state = states[0];
        if (!state) node.status({ fill: 'yellow', shape: 'ring', text: RED._('yoto-device-in.status.notFound', { device: deviceRef }) });
        else if (state.online) node.status({ fill: 'green', shape: 'dot', text: RED._('yoto-device-in.status.online') + suffix });
        else node.status({ fill: 'red', shape: 'ring', text: RED._('yoto-device-in.status.offline') + suffix });
        return;
      }
      const online = states.filter((state) => state.online).length;
      const text = RED._('yoto-device-in.status.count', { online: String(online), total: String(states.length) }) + suffix;
      node.status({ fill: online > 0 ? 'green' : 'red', shape: online > 0 ? 'dot' : 'ring', text });
    };

    const send = (deviceId: string, kind: 'events' | 'status' | 'playback', payload: unknown, state: DeviceState): void => {
      const msg: YotoDeviceMessage = { topic: `yoto/${deviceId}/${kind}`, payload, device: deviceSummary(state) };
      node.send(msg);
    };

    /** Sends the player's status and playback now, or once its playback is known. */
    const sendState = (state: DeviceState): void => {
      if (state.online && state.playback.state === undefined) {
        pendingState.add(state.deviceId);
        return;
      }
      pendingState.delete(state.deviceId);
      const now = new Date();
      send(state.deviceId, 'status', statusPayload(state, now), state);
      send(state.deviceId, 'playback', playbackPayload(state, now), state);
    };
    const sendAllStates = (): void => {
      if (!config.emitState || !registry) return;
      for (const state of registry.list()) if (matches(state)) sendState(state);
    };

    const onEvent = (event: DeviceEvent): void => {
      const state = registry?.get(event.deviceId);
      if (!state || !matches(state)) return;
      if (wanted.has(event.type)) {
        send(event.deviceId, 'events', eventPayload(event), state);
        // The status shows the last event's type: a new text only when the type changes (a player
        // going on- or offline changes the counts through onState).
        if (event.type !== lastEvent) {
          lastEvent = event.type;
          render();
        }
      }
      if (event.type === 'online' && config.emitState) sendState(state);
    };
    const onState = (state: DeviceState, previous: DeviceState): void => {
      if (!matches(state) && !matches(previous)) return;
      if (pendingState.has(state.deviceId)) sendState(state);
      if (state.online !== previous.online || state.name !== previous.name) render();
    };
    const onAdded = (state: DeviceState): void => {
      if (!matches(state)) return;
      if (config.emitState) sendState(state);
      render();
    };
    const onRemoved = (deviceId: string): void => {
      pendingState.delete(deviceId);
      render();
    };

    const attach = (hub: HubClient): void => {
      if (registry) return;
      registry = hub.devices;
      registry.bus.on(node, 'event', onEvent);
      registry.bus.on(node, 'state', onState);
      registry.bus.on(node, 'device-added', onAdded);
      registry.bus.on(node, 'device-removed', onRemoved);
      render();
      sendAllStates();
    };
    const detach = (): void => {
      if (!registry) return;
      registry.bus.off(node);
      registry = undefined;
      pendingState.clear();
    };

    const hub = hubConfig.client;
    let cloudState: CloudState | undefined;
    const onHubState = (state: HubState): void => {
      if (state === 'running' && hub) attach(hub);
      else if (state !== 'running') detach();
      render();
    };
    const onCloudStatus = (state: CloudState): void => {
      // Back on the cloud after losing it (or after signing in): the state may have changed meanwhile.
      if (state === 'running' && cloudState !== undefined && cloudState !== 'running') sendAllStates();
      cloudState = state;
    };

    // The hub's own status (starting, failed, ...) shows until the device model is there.
    // register() only reads `id` and `status`, so this sink stands in for the node: the
    // hub's "connected" must not overwrite the player's status this node shows.
    const statusSink = {
      id: node.id,
      status: (status: NodeStatus): void => {
        hubStatus = status;
        if (!registry) render();
      },
    };
    hubConfig.register(statusSink as unknown as Node);
    if (hub) {
      hub.on('state', onHubState);
      hub.on('cloud-status', onCloudStatus);
      if (hub.state === 'running') {
        cloudState = hub.cloudState;
        attach(hub);
      }
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      detach();
      hub?.off('state', onHubState);
      hub?.off('cloud-status', onCloudStatus);
      hubConfig.deregister(statusSink as unknown as Node);
      done();
    });
  }

  RED.nodes.registerType('yoto-device-in', YotoDeviceInNode);
};
