import { silentLogger, type Logger } from '../../log/logger';
import type { YotoCard } from '../card';
import {
  DeviceCommandError,
  type CommandResult,
  type DeviceCommand,
  type DeviceCommander,
  type DeviceCommandType,
} from '../device-command';
import { RESPONSE_KEYS, type YotoResponseMessage } from '../protocol';
import { realClock, type Clock, type ClockTimer } from '../../time/clock';
import type { YotoDeviceMessage, YotoMqttClient, YotoMqttState } from '../mqtt/yoto-mqtt-client';
import { planCommand, type CommanderPlayback, type CommandPlan, type ObservedSinceSend } from './command-plan';

export interface YotoDeviceCommanderOptions {
  client: YotoMqttClient;
  /** The player's current playback, for next, previous and seek. */
  getPlayback: (deviceId: string) => CommanderPlayback | undefined;
  /** The player's volume on the 0..16 scale and its maximum (for volume steps); none: steps are refused. */
  getVolume?: (deviceId: string) => { level: number; max: number } | undefined;
  /** The card's content, for neighbouring keys and for refusal hints. */
  getCard: (cardId: string) => Promise<YotoCard | undefined>;
  /** How long a player has to confirm; 10 seconds unless told. */
  timeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface PendingCommand {
  deviceId: string;
  command: DeviceCommandType;
  plan: CommandPlan;
  ackKey: string;
  startedAt: number;
  observed: ObservedSinceSend;
  settle: (outcome: { result: CommandResult } | { error: DeviceCommandError }) => void;
}

/** Whether two bodies say the same (a player may re-serialise the JSON it echoes). */
function sameBody(echoed: string, sent: string): boolean {
  if (echoed === sent) return true;
  try {
    return JSON.stringify(JSON.parse(echoed)) === JSON.stringify(JSON.parse(sent));
  } catch {
    return false;
  }
}

function describe(command: DeviceCommand): string {
  return command.type === 'play' ? `play ${command.cardId}` : command.type;
}

/**
 * The typed command API over Yoto MQTT. Every command resolves once the
 * player confirms it (its `response` ack, or, from a player that never acks,
 * the state change it causes) and
 * rejects with a DeviceCommandError when the player refuses it (a FAIL ack),
 * when it is invalid, or when nothing confirms it in time.
 */
export class YotoDeviceCommander implements DeviceCommander {
  private readonly client: YotoMqttClient;
  private readonly getPlayback: YotoDeviceCommanderOptions['getPlayback'];
  private readonly getCard: YotoDeviceCommanderOptions['getCard'];
  private readonly getVolume: YotoDeviceCommanderOptions['getVolume'];
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pending = new Map<string, PendingCommand[]>();
  /**
   * Players seen acking. For them only the ack confirms: an event arriving
   * after a command may still be the late echo of an earlier one (the same
   * card started twice looks alike), so a state change proves nothing.
   */
  private readonly ackingDevices = new Set<string>();
  private readonly onMessage = (message: YotoDeviceMessage): void => this.observe(message);
  private readonly onState = (state: YotoMqttState): void => {
    if (state !== 'connected') this.failAll('offline', 'the connection to the Yoto MQTT broker was lost before the player confirmed');
  };

  constructor(options: YotoDeviceCommanderOptions) {
    this.client = options.client;
    this.getPlayback = options.getPlayback;
    this.getCard = options.getCard;
    this.getVolume = options.getVolume;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.clock = options.clock ?? realClock;
    this.logger = (options.logger ?? silentLogger).child({ component: 'yoto-commander' });
    this.client.on('message', this.onMessage);
    this.client.on('state', this.onState);
  }

  /** Commands sent and not yet confirmed, refused or timed out. */
  pendingCount(): number {
    let count = 0;
    for (const list of this.pending.values()) count += list.length;
    return count;
  }

  async execute(deviceId: string, command: DeviceCommand, options: { timeoutMs?: number } = {}): Promise<CommandResult> {
    const startedAt = this.clock.now();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (!this.client.hasDevice(deviceId)) {
      throw new DeviceCommandError('unknown_device', `${deviceId} is not a player this hub follows`, deviceId, command.type);
    }
    if (!this.client.isConnected) {
      throw new DeviceCommandError('offline', 'not connected to the Yoto MQTT broker', deviceId, command.type);
    }
    const playback = this.getPlayback(deviceId);
    const volume = this.getVolume?.(deviceId);
    const plan = await planCommand(command, { deviceId, playback, volume, getCard: this.getCard, trackingBody: () => this.client.trackingBody() });
    return this.send(deviceId, command, plan, playback, startedAt, timeoutMs);
  }

  /** Rejects what is still pending and stops listening to the client. */
  dispose(): void {
    this.client.off('message', this.onMessage);
    this.client.off('state', this.onState);
    this.failAll('offline', 'the device commander was stopped');
  }

  private send(
    deviceId: string,
    command: DeviceCommand,
    plan: CommandPlan,
    baseline: CommanderPlayback | undefined,
    startedAt: number,
    timeoutMs: number,
  ): Promise<CommandResult> {
    return new Promise<CommandResult>((resolve, reject) => {
      let timer: ClockTimer | undefined;
      const entry: PendingCommand = {
        deviceId,
        command: command.type,
        plan,
        ackKey: RESPONSE_KEYS[plan.mqttCommand],
        startedAt,
        observed: { baseline, events: {}, statusSeen: false, eventsSeen: false },
        settle: (outcome) => {
          timer?.cancel();
          this.forget(entry);
          if ('result' in outcome) resolve(outcome.result);
          else reject(outcome.error);
        },
      };
      // Registered before publishing: a fast player's ack must find it.
      this.remember(entry);
      const remaining = Math.max(0, startedAt + timeoutMs - this.clock.now());
      timer = this.clock.setTimeout(() => {
        entry.settle({ error: new DeviceCommandError('timeout', `${deviceId} did not confirm ${describe(command)} within ${timeoutMs} ms`, deviceId, command.type) });
      }, remaining);
      this.client.publishCommand(deviceId, plan.mqttCommand, plan.body).catch((error: unknown) => {
        entry.settle({ error: new DeviceCommandError('offline', `could not send ${describe(command)} to ${deviceId}: ${(error as Error).message}`, deviceId, command.type) });
      });
    });
  }

  private remember(entry: PendingCommand): void {
    const list = this.pending.get(entry.deviceId) ?? [];
    list.push(entry);
    this.pending.set(entry.deviceId, list);
  }

  private forget(entry: PendingCommand): void {
    const list = this.pending.get(entry.deviceId);
    if (!list) return;
    const index = list.indexOf(entry);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.pending.delete(entry.deviceId);
  }

  private observe(message: YotoDeviceMessage): void {
    if (message.kind === 'response') this.ackingDevices.add(message.deviceId);
    const list = this.pending.get(message.deviceId);
    if (!list || list.length === 0) return;
    if (message.kind === 'response') {
      this.matchAck(list, message.payload);
      return;
    }
    for (const entry of [...list]) {
      const observed = entry.observed;
      if (message.kind === 'events') {
        observed.events = { ...observed.events, ...message.payload };
        observed.eventsSeen = true;
      } else if (message.kind === 'status') {
        observed.statusSeen = true;
      } else if ((message.kind === 'legacyStatus' || message.kind === 'fullStatus') && message.payload.shutDown !== undefined) {
        observed.shutDown = message.payload.shutDown;
      }
      if (!this.ackingDevices.has(entry.deviceId) && entry.plan.isConfirmed?.(observed)) this.confirm(entry, 'state');
    }
  }

  /** Acks echo the request body in `req_body`; without one, the ack key decides. */
  private matchAck(list: PendingCommand[], response: YotoResponseMessage): void {
    const echoed = response.status.req_body;
    const entry = echoed !== undefined
      ? list.find((candidate) => sameBody(echoed, candidate.plan.body))
      : list.find((candidate) => response.status[candidate.ackKey] !== undefined);
    if (!entry) return;
    const result = response.status[entry.ackKey] ?? Object.entries(response.status).find(([key, value]) => key !== 'req_body' && (value === 'OK' || value === 'FAIL'))?.[1];
    if (result === 'OK') {
      this.confirm(entry, 'ack');
    } else if (result === 'FAIL') {
      const hint = entry.plan.refusalHint ? `: ${entry.plan.refusalHint}` : '';
      entry.settle({
        error: new DeviceCommandError('refused', `${entry.deviceId} refused ${entry.command} (${entry.plan.mqttCommand} answered FAIL)${hint}`, entry.deviceId, entry.command),
      });
    } else {
      this.logger.debug('unrecognised ack', { deviceId: entry.deviceId, response });
    }
  }

  private confirm(entry: PendingCommand, confirmedBy: CommandResult['confirmedBy']): void {
    entry.settle({ result: { deviceId: entry.deviceId, command: entry.command, confirmedBy, latencyMs: this.clock.now() - entry.startedAt } });
  }

  private failAll(code: 'offline', message: string): void {
    for (const list of [...this.pending.values()]) {
      for (const entry of [...list]) entry.settle({ error: new DeviceCommandError(code, message, entry.deviceId, entry.command) });
    }
  }
}
