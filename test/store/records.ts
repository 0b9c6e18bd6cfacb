import type { CollectionRecords, DeviceEvent, RecordValidator } from '../../server/store';

export type UserRecord = CollectionRecords['users'];
export type DeviceRecord = CollectionRecords['devices'];
export type ScriptRecord = CollectionRecords['scripts'];

const CREATED = '2024-05-01T08:00:00.000Z';

/** A user record for the store tests; only `name` matters to the fake validator. */
export function userRecord(id: string, name: string): UserRecord {
  return { id, email: `${id}@example.com`, name, passwordHash: '$scrypt$n=16384,r=8,p=1$c2FsdA$aGFzaA', role: 'member', createdAt: CREATED, updatedAt: CREATED };
}

export function deviceRecord(id: string, name: string): DeviceRecord {
  return { id, deviceId: `yoto-${id}`, name, source: 'virtual', model: 'mini', status: 'unknown', metadata: {}, createdAt: CREATED, updatedAt: CREATED };
}

export function scriptRecord(id: string, name: string): ScriptRecord {
  return { id, userId: 'u1', name, type: 'simple', definition: { audioFileId: 'a1' }, createdAt: CREATED, updatedAt: CREATED };
}

export function deviceEvent(id: string, deviceId: string, type: DeviceEvent['type'] = 'playback_started', timestamp = '2024-05-01T19:00:00.000Z'): DeviceEvent {
  return { id, deviceId, type, timestamp, data: { cardId: 'abcde' } };
}

export class FakeValidationError extends Error {
  readonly code = 'validation_failed';
  constructor(readonly details: { collection: string; field: string }) {
    super(`${details.collection}: ${details.field} must be a string`);
  }
}

/** Stands in for the schema validator the hub injects: every record needs a string `name`. */
export const requireName: RecordValidator = (collection, record) => {
  if (typeof (record as { name?: unknown }).name !== 'string') throw new FakeValidationError({ collection, field: 'name' });
};

export const acceptAll: RecordValidator = () => undefined;
