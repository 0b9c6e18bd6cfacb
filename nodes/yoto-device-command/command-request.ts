import { mapBrokerCommand, type MappedCommand } from '../../server/bridge/command-mapping';
import type { BrokerCommandMessage } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';

/**
 * The node speaks the home broker's command vocabulary (yoto/{id}/commands):
 * it builds the same JSON a house would publish, checks it against
 * schemas/broker-command.schema.json and maps it with the bridge's own
 * mapping, so a command means the same thing on MQTT and in a flow.
 */

/** The commands the editor offers. */
export const NODE_COMMANDS = ['play', 'pause', 'resume', 'stop', 'next', 'previous', 'seek', 'volume', 'sleep', 'nightlight', 'reboot'] as const;
/** What a message may ask for: the editor's commands and the broker's status_request. */
export const ACCEPTED_COMMANDS: readonly string[] = [...NODE_COMMANDS, 'status_request'];

/** The arguments each command takes, as settings of the node (camelCase) and fields of the command JSON (snake_case). */
export const COMMAND_ARGUMENTS = {
  cardId: { field: 'card_id', kind: 'string' },
  chapterKey: { field: 'chapter_key', kind: 'string' },
  trackKey: { field: 'track_key', kind: 'string' },
  secondsIn: { field: 'seconds_in', kind: 'number' },
  position: { field: 'position', kind: 'number' },
  volume: { field: 'volume', kind: 'number' },
  seconds: { field: 'seconds', kind: 'number' },
  color: { field: 'color', kind: 'color' },
} as const;

export type CommandArgument = keyof typeof COMMAND_ARGUMENTS;

export const ARGUMENTS_OF: Readonly<Record<string, readonly CommandArgument[]>> = {
  play: ['cardId', 'chapterKey', 'trackKey', 'secondsIn'],
  seek: ['position'],
  volume: ['volume'],
  sleep: ['seconds'],
  nightlight: ['color'],
};

export type CommandRequest = { ok: true; mapped: MappedCommand; message: Record<string, unknown>; checked: BrokerCommandMessage } | { ok: false; field: string; reason: string };

/** Turns a typed value into what the command JSON holds: numbers from numeric strings, colours from JSON text. */
export function commandValue(argument: CommandArgument, value: unknown): unknown {
  const { kind } = COMMAND_ARGUMENTS[argument];
  if (kind === 'number' && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (kind === 'string' && typeof value === 'number') return String(value);
  if (kind === 'color' && typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

/** Checks a command JSON (as on yoto/{id}/commands) and maps it to the hub's DeviceCommand. */
export function commandRequest(message: Record<string, unknown>): CommandRequest {
  const name = message['command'];
  if (typeof name !== 'string' || !ACCEPTED_COMMANDS.includes(name)) {
    return { ok: false, field: 'command', reason: `must be one of ${ACCEPTED_COMMANDS.join(', ')} (got ${JSON.stringify(name ?? null)})` };
  }
  const checked = getValidator().check('broker-command', message);
  if (!checked.ok) {
    const detail = checked.error.details[0];
    const field = detail && detail.path !== '/' ? detail.path.replace(/^\//, '').split('/')[0] ?? 'command' : 'command';
    const reasons = checked.error.details.map((d) => (d.path === '/' ? d.message : `${d.path.replace(/^\//, '')} ${d.message}`));
    return { ok: false, field, reason: reasons.join('; ') };
  }
  // `play` with `script_id` plays a hub script, as on MQTT and the REST API.
  return { ok: true, mapped: mapBrokerCommand(checked.value), message, checked: checked.value };
}
