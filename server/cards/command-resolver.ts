import { DeviceCommandError, type DeviceCommand } from '../yoto/device-command';
import type { FamilyLibrary } from './family-library';

/**
 * Turns `play-title` and `play-random` into `play` with the card's id, from
 * the family library; every other command passes through unchanged.
 */
export function libraryCommandResolver(library: FamilyLibrary): (deviceId: string, command: DeviceCommand) => Promise<DeviceCommand> {
  return async (deviceId, command) => {
    if (command.type === 'play-title') {
      const card = await library.findByTitle(command.title).catch(() => undefined);
      if (!card) throw new DeviceCommandError('invalid_command', `no single card of the family library is titled "${command.title}"`, deviceId, command.type);
      const { type: _type, title: _title, ...position } = command;
      return { type: 'play', cardId: card.cardId, ...position };
    }
    if (command.type === 'play-random') {
      const card = await library.randomFromGroup(command.group).catch(() => undefined);
      if (!card) throw new DeviceCommandError('invalid_command', `the family library has no group "${command.group}" with cards in it`, deviceId, command.type);
      return { type: 'play', cardId: card.cardId };
    }
    return command;
  };
}
