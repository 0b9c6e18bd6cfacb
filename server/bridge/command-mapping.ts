import type { BrokerCommandMessage, BrokerPlayCommand, RgbColor } from '../types/schemas';
import type { DeviceCommand } from '../yoto/device-command';

/** A broker command that starts a hub script rather than a player command. */
export interface ScriptPlayRequest {
  scriptId: string;
  chapterKey?: string;
  trackKey?: string;
  secondsIn?: number;
}

export type MappedCommand = { kind: 'device'; command: DeviceCommand } | { kind: 'script'; request: ScriptPlayRequest };

/**
 * Turns a validated yoto/{id}/commands payload (snake_case, as in the seed)
 * into the hub's typed command.
 */
export function mapBrokerCommand(message: BrokerCommandMessage): MappedCommand {
  switch (message.command) {
    case 'play':
      return mapPlay(message);
    case 'pause':
    case 'resume':
    case 'stop':
    case 'next':
    case 'previous':
    case 'reboot':
      return device({ type: message.command });
    case 'seek':
      return device({ type: 'seek', position: message.position });
    case 'volume':
      return device({ type: 'volume', percent: message.volume });
    case 'sleep':
      return device({ type: 'sleep', seconds: message.seconds });
    case 'nightlight':
      return device({ type: 'nightlight', color: parseColor(message.color) });
    case 'status_request':
      return device({ type: 'status-request' });
    case 'play_random':
      return device({ type: 'play-random', group: message.group });
    case 'volume_up':
      return device({ type: 'volume-step', steps: message.steps ?? 1 });
    case 'volume_down':
      return device({ type: 'volume-step', steps: -(message.steps ?? 1) });
    case 'display_preview':
      return device({
        type: 'display-preview',
        icon: message.icon,
        ...(message.seconds !== undefined ? { seconds: message.seconds } : {}),
        ...(message.animated !== undefined ? { animated: message.animated } : {}),
      });
    case 'bluetooth':
      return device({ type: 'bluetooth', on: message.state === 'on' });
  }
}

function mapPlay(message: BrokerPlayCommand): MappedCommand {
  const position = {
    ...(message.chapter_key !== undefined ? { chapterKey: message.chapter_key } : {}),
    ...(message.track_key !== undefined ? { trackKey: message.track_key } : {}),
    ...(message.seconds_in !== undefined ? { secondsIn: message.seconds_in } : {}),
  };
  if (message.script_id !== undefined) return { kind: 'script', request: { scriptId: message.script_id, ...position } };
  if (message.title !== undefined) return device({ type: 'play-title', title: message.title, ...position });
  // The schema requires exactly one of script_id and card_id.
  return device({ type: 'play', cardId: message.card_id ?? '', ...position });
}

function device(command: DeviceCommand): MappedCommand {
  return { kind: 'device', command };
}

/** "#rrggbb", {r, g, b} or "off" (the schema has checked which). */
export function parseColor(color: string | RgbColor): RgbColor | 'off' {
  if (typeof color !== 'string') return { r: color.r, g: color.g, b: color.b };
  if (color === 'off') return 'off';
  const hex = color.replace(/^#/, '');
  return {
    r: Number.parseInt(hex.slice(0, 2), 16),
    g: Number.parseInt(hex.slice(2, 4), 16),
    b: Number.parseInt(hex.slice(4, 6), 16),
  };
}
