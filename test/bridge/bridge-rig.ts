import { HomeBrokerBridge, type AnnouncementPlayer, type HomeBrokerBridgeOptions, type ScriptPlayer } from '../../server/bridge/home-broker-bridge';
import type { ScriptPlayRequest } from '../../server/bridge/command-mapping';
import { HomeBrokerClient } from '../../server/broker/home-broker-client';
import { ManualClock } from '../../server/time/clock';
import { DeviceRegistry } from '../../server/core/device-registry';
import { silentLogger } from '../../server/log/logger';
import type { BrokerAnnouncementMessage, DeviceEvent } from '../../server/types/schemas';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { DeviceCommandError, type CommandResult, type DeviceCommand, type DeviceCommander } from '../../server/yoto/device-command';

export const LIVING_ROOM = DEFAULT_VIRTUAL_PLAYERS[0]!;
export const KIDS_BEDROOM = DEFAULT_VIRTUAL_PLAYERS[1]!;

/**
 * Records the commands the bridge maps broker payloads to. Only for checking
 * that mapping: it plays nothing.
 */
export class RecordingCommander implements DeviceCommander {
  readonly calls: Array<{ deviceId: string; command: DeviceCommand }> = [];
  private readonly refusals = new Map<DeviceCommand['type'], string>();
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  refuse(type: DeviceCommand['type'], reason: string): void {
    this.refusals.set(type, reason);
  }

  async execute(deviceId: string, command: DeviceCommand): Promise<CommandResult> {
    this.calls.push({ deviceId, command });
    for (const waiter of this.waiters.filter((w) => this.calls.length >= w.count)) waiter.resolve();
    this.waiters = this.waiters.filter((w) => this.calls.length < w.count);
    const reason = this.refusals.get(command.type);
    if (reason) throw new DeviceCommandError('refused', reason, deviceId, command.type);
    return { deviceId, command: command.type, confirmedBy: 'ack', latencyMs: 12 };
  }

  /** Resolves once `count` commands in all have arrived. */
  received(count: number): Promise<void> {
    if (this.calls.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/**
 * Records what the bridge asks of the hub's announcer and scripts, for the bridge's own tests; the real
 * ones are driven through the composed product in test/contract/.
 */
export class RecordingHubServices implements AnnouncementPlayer, ScriptPlayer {
  readonly played: Array<{ deviceId: string; announcement: BrokerAnnouncementMessage }> = [];
  readonly scripts: Array<{ deviceId: string; request: ScriptPlayRequest }> = [];

  announce(announcement: BrokerAnnouncementMessage, targets: readonly string[]): { done: ReadonlyMap<string, Promise<{ status: string }>> } {
    for (const deviceId of targets) this.played.push({ deviceId, announcement });
    return { done: new Map(targets.map((deviceId) => [deviceId, Promise.resolve({ status: 'finished' })])) };
  }

  async playScript(deviceId: string, request: ScriptPlayRequest): Promise<void> {
    this.scripts.push({ deviceId, request });
  }
}

export interface BridgeRig {
  client: HomeBrokerClient;
  registry: DeviceRegistry;
  bridge: HomeBrokerBridge;
  commander: RecordingCommander;
  hubServices: RecordingHubServices;
  logged: DeviceEvent[];
  stop(): Promise<void>;
}

/** Registry + bridge on a started home broker client, with the two default virtual players listed by "the cloud". */
export async function startBridgeRig(url: string, options: Partial<HomeBrokerBridgeOptions> = {}): Promise<BridgeRig> {
  const logged: DeviceEvent[] = [];
  const registry = new DeviceRegistry({ clock: new ManualClock(Date.UTC(2026, 0, 10, 8, 0, 0)), eventLog: { append: (event) => logged.push(event) } });
  registry.upsertDevices(
    [LIVING_ROOM, KIDS_BEDROOM].map((spec) => ({
      deviceId: spec.deviceId,
      name: spec.name,
      online: true,
      deviceType: spec.deviceType,
      deviceFamily: spec.deviceFamily,
      hasNightLight: spec.hasNightLight,
    })),
  );
  const client = new HomeBrokerClient(url, {}, false, silentLogger);
  client.start();
  await client.whenConnected();
  const commander = new RecordingCommander();
  const hubServices = new RecordingHubServices();
  const bridge = new HomeBrokerBridge({ broker: client, registry, commander, scripts: hubServices, announcements: hubServices, ...options });
  bridge.start();
  return {
    client,
    registry,
    bridge,
    commander,
    hubServices,
    logged,
    async stop() {
      bridge.stop();
      registry.stop();
      await client.stop();
    },
  };
}
