import { mayAccess, type RequestUser } from '../http/request-user';
import type { Repository } from '../store/repository';
import type { Device, User } from '../types/schemas';

/**
 * The one ownership rule, applied by every capability (devices, scripts, stories, library,
 * smart streams, the WebSocket): an admin may use everything; a member only what is recorded as
 * theirs. Something with no owner (a player nobody has claimed) is an admin's only. The rule itself
 * is `mayAccess()` (server/http/request-user.ts); this module applies it to players and owners.
 */
export { mayAccess };

/**
 * The stored registration of a player, found by its Yoto device id through the store's index (not a scan:
 * the WebSocket gateway and the broker's ACL ask for each message a member may see).
 */
export function findDeviceRecord(devices: Pick<Repository<Device>, 'findBy'>, deviceId: string): Readonly<Device> | undefined {
  return devices.findBy('deviceId', deviceId);
}

/** Whether `user` may see and command the player `deviceId` (a member: only players registered to them). */
export function mayUseDevice(devices: Pick<Repository<Device>, 'findBy'>, user: RequestUser, deviceId: string): boolean {
  return mayAccess(user, findDeviceRecord(devices, deviceId)?.userId);
}

/**
 * The device ids a caller may see: every player for an admin (`undefined`:
 * no restriction), the players registered to them for a member.
 */
export function visibleDeviceIds(devices: Pick<Repository<Device>, 'list'>, user: RequestUser): ReadonlySet<string> | undefined {
  if (user.role === 'admin') return undefined;
  return new Set(devices.list((record) => mayAccess(user, record.userId)).map((record) => record.deviceId));
}

/**
 * The owner of a stored thing as a caller, for checks made on the owner's behalf (what a saved
 * script or story may reference). An owner who no longer exists is a member with no rights beyond
 * their own id.
 */
export function ownerAsUser(users: Pick<Repository<User>, 'get'>, userId: string): RequestUser {
  const user = users.get(userId);
  return { id: userId, email: user?.email ?? '', role: user?.role === 'admin' ? 'admin' : 'member' };
}

/** Whether the owner `ownerId` of a story or script may reference the audio file `fileId`. */
export function audioAccessOf(
  files: { get(id: string): { userId: string } | undefined },
  users: Pick<Repository<User>, 'get'>,
  ownerId: string,
  fileId: string,
): 'usable' | 'missing' | 'forbidden' {
  const file = files.get(fileId);
  if (!file) return 'missing';
  return mayAccess(ownerAsUser(users, ownerId), file.userId) ? 'usable' : 'forbidden';
}
