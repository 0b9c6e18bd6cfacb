import { EventEmitter } from 'node:events';
import { mapBrokerCommand } from '../bridge/command-mapping';
import type { CloudState } from '../cloud/cloud-connection';
import { announcementTargets } from '../announcements/targets';
import { reportCommandFailure } from '../core/command-failures';
import type { Hub, HubState } from '../hub';
import type { RequestUser } from '../http/request-user';
import { DeviceCommandError } from '../yoto/device-command';
import type { HubClient, HubClientDevices, HubClientEvents } from './hub-client';

/** Flows act as the hub's administrator: Node-RED's own admin rights already guard who edits them. */
export const NODE_RED_USER: RequestUser = { id: 'node-red', email: '', role: 'admin' };

const NO_DEVICES: HubClientDevices = { list: () => [], get: () => undefined, bus: { on: () => () => undefined, off: () => undefined } };

/** The in-process Hub behind the HubClient interface (the yoto-hub node's "Local hub" mode). */
export class LocalHubClient extends EventEmitter<HubClientEvents> implements HubClient {
  readonly kind = 'local' as const;
  private readonly onState = (state: HubState): void => {
    this.emit('state', state);
  };
  private readonly onCloud = (state: CloudState): void => {
    this.emit('cloud-status', state);
  };

  constructor(readonly hub: Hub) {
    super();
    hub.on('state', this.onState);
    hub.on('cloud-status', this.onCloud);
  }

  /** Stops following the hub (the hub itself is stopped by its owner). */
  close(): void {
    this.hub.off('state', this.onState);
    this.hub.off('cloud-status', this.onCloud);
    this.removeAllListeners();
  }

  get state(): HubState {
    return this.hub.state;
  }

  get url(): string {
    return this.hub.state === 'running' ? this.hub.url : '';
  }

  get cloudState(): CloudState | undefined {
    return this.hub.state === 'running' ? this.hub.cloud.state : undefined;
  }

  get devices(): HubClientDevices {
    return this.hub.state === 'running' ? this.hub.devices : NO_DEVICES;
  }

  async command(deviceId: string, message: Parameters<HubClient['command']>[1]): Promise<Record<string, unknown>> {
    const mapped = mapBrokerCommand(message);
    const label = mapped.kind === 'script' ? 'play' : message.command;
    try {
      if (mapped.kind === 'script') return { ...(await this.hub.scripts.playScript(deviceId, mapped.request, NODE_RED_USER)) };
      return { ...(await this.hub.cloud.execute(deviceId, mapped.command)) };
    } catch (error) {
      const { code, reason } = reportCommandFailure(this.hub.devices, deviceId, { command: label, requestId: message.request_id, surface: 'node-red' }, error);
      throw new Error(error instanceof DeviceCommandError ? `${reason} (${code})` : reason);
    }
  }

  deployScript(...[scriptId, deviceId, options]: Parameters<HubClient['deployScript']>): ReturnType<HubClient['deployScript']> {
    return this.hub.scripts.deploy(scriptId, deviceId, NODE_RED_USER, options);
  }

  async script(id: string): ReturnType<HubClient['script']> {
    return this.hub.store.scripts.get(id);
  }

  async scripts(): ReturnType<HubClient['scripts']> {
    return this.hub.store.scripts.list();
  }

  async saveScript(script: Parameters<HubClient['saveScript']>[0]): Promise<string> {
    return (await this.hub.store.scripts.upsert(script)).id;
  }

  async audioFile(id: string): ReturnType<HubClient['audioFile']> {
    return this.hub.library.files.get(id);
  }

  async story(id: string): ReturnType<HubClient['story']> {
    return this.hub.store.stories.get(id);
  }

  settings(deviceId: string): ReturnType<HubClient['settings']> {
    return this.hub.settings.get(deviceId);
  }

  updateSettings(...[deviceId, change]: Parameters<HubClient['updateSettings']>): ReturnType<HubClient['updateSettings']> {
    return this.hub.settings.update(deviceId, change);
  }

  async announce(request: Parameters<HubClient['announce']>[0]): ReturnType<HubClient['announce']> {
    const targets = announcementTargets(request, this.hub.devices);
    if (!targets.ok) throw new Error(targets.message);
    const handle = this.hub.announcements.announce(request, targets.targets, 'node');
    return { id: handle.id, done: handle.done };
  }

  async cards(): ReturnType<HubClient['cards']> {
    return (await this.hub.cards.list()).map((card) => ({ id: card.cardId, name: card.title, kind: card.kind }));
  }
}
