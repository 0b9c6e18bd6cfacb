import type { EventEmitter } from 'node:events';
import type { PlayerEntry } from '../announcements/announcer';
import type { CloudState } from '../cloud/cloud-connection';
import type { DeviceBus } from '../core/device-bus';
import type { DeviceState } from '../core/device-state';
import type { HubState } from '../hub';
import type { DeployOptions, DeployResult } from '../scripts';
import type { PlayerSettingsChange } from '../settings';
import type { PlayerSettingsView } from '../settings/settings-service';
import type { AudioFile, BrokerAnnouncementMessage, BrokerCommandMessage, CyoaStory, Script } from '../types/schemas';

/**
 * What the Yoto nodes use of a hub: one interface, two implementations. A
 * LocalHubClient wraps the Hub the yoto-hub node runs in-process; a
 * RemoteHubClient speaks to a hub server (yoto-hub-server, or a cluster) over
 * its REST API and WebSocket with an API token. The nodes cannot tell them
 * apart: the same device model (a mirror, for a remote hub) with the same bus,
 * the same operations, failures as sentences for the user.
 */
export interface HubClientEvents {
  state: [state: HubState];
  'cloud-status': [state: CloudState];
}

export interface HubClientDevices {
  list(): DeviceState[];
  get(deviceId: string): DeviceState | undefined;
  /** Every state change and event of the players the client sees (DeviceBus semantics: listeners by owner, `off(owner)` removes them). */
  readonly bus: Pick<DeviceBus, 'on' | 'off'>;
}

/** A card of the family library, as the editor's pickers list it. */
export interface HubClientCard {
  id: string;
  name: string;
  kind?: string;
}

/** An announcement under way: per target player, a promise of its final entry (never rejects). */
export interface HubClientAnnouncement {
  id: string;
  done: ReadonlyMap<string, Promise<PlayerEntry>>;
}

export interface HubClient extends EventEmitter<HubClientEvents> {
  /** local: the hub runs in this process; remote: a hub server reached over the network. */
  readonly kind: 'local' | 'remote';
  /** `running` once the device model is there (for a remote hub: connected and subscribed). */
  readonly state: HubState;
  /** The hub's base URL (its panel). */
  readonly url: string;
  /** The Yoto cloud connection's state, when known. */
  readonly cloudState: CloudState | undefined;
  readonly devices: HubClientDevices;
  /** A command as on yoto/{id}/commands (schemas/broker-command), already checked; resolves with the player's confirmation. */
  command(deviceId: string, message: BrokerCommandMessage): Promise<Record<string, unknown>>;
  /** Deploys a stored script as a streaming card and plays it. */
  deployScript(scriptId: string, deviceId: string, options: DeployOptions): Promise<DeployResult>;
  script(id: string): Promise<Script | undefined>;
  scripts(): Promise<Script[]>;
  /**
   * Saves a script (validated by the caller). A local hub keeps its id; a remote hub keeps the id
   * of one that exists and gives a new script an id of its own. Resolves with the id it has.
   */
  saveScript(script: Script): Promise<string>;
  audioFile(id: string): Promise<AudioFile | undefined>;
  story(id: string): Promise<CyoaStory | undefined>;
  settings(deviceId: string): Promise<PlayerSettingsView>;
  updateSettings(deviceId: string, change: PlayerSettingsChange): Promise<PlayerSettingsView>;
  /** Starts an announcement (schemas/broker-announcement): rejects with a sentence when no player can take it. */
  announce(request: BrokerAnnouncementMessage): Promise<HubClientAnnouncement>;
  cards(): Promise<HubClientCard[]>;
}
