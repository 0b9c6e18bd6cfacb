import type { RequestUser } from '../http/request-user';
import type { Repository } from '../store/repository';
import type { Device } from '../types/schemas';

/** The stored registration of a player, found by its Yoto device id. */
export function findDeviceRecord(devices: Pick<Repository<Device>, 'list'>, deviceId: string): Device | undefined {
  return devices.list((record) => record.deviceId === deviceId)[0];
}

/**
 * The device ids a caller may see: every player for an admin (`undefined`:
 * no restriction), the players registered to them for a member.
 */
export function visibleDeviceIds(devices: Pick<Repository<Device>, 'list'>, user: RequestUser): ReadonlySet<string> | undefined {
  if (user.role === 'admin') return undefined;
  return new Set(devices.list((record) => record.userId === user.id).map((record) => record.deviceId));
}
