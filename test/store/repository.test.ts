import { expect } from 'chai';
import type { Store, StoreError } from '../../server/store';
import { describeStoreBackends, type StoreLocation } from './backends';
import { FakeValidationError, deviceRecord, requireName, scriptRecord, userRecord, type UserRecord } from './records';

async function rejection(promise: Promise<unknown>): Promise<Error & Partial<StoreError>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Partial<StoreError>;
  }
  throw new Error('expected the promise to reject');
}

describeStoreBackends('store repositories', (backend) => {
  let dataDir: StoreLocation;
  let store: Store;
  const openStore = (options: { dataDir: StoreLocation } & Omit<Parameters<typeof backend.open>[1], never>): Promise<Store> => backend.open(options.dataDir, options);
  const storedUsers = async (location: StoreLocation): Promise<UserRecord[]> => (await backend.readStored(location))['users'] as UserRecord[];

  beforeEach(async () => {
    dataDir = await backend.fresh('store');
    store = await openStore({ dataDir, validate: requireName });
  });
  afterEach(async () => {
    await store.close();
  });

  it('has the record on disk once insert resolves, and keeps it across a reopen', async () => {
    await store.users.insert(userRecord('u1', 'Ada'));
    expect(await storedUsers(dataDir)).to.deep.equal([userRecord('u1', 'Ada')]);
    await store.close();
    store = await openStore({ dataDir, validate: requireName });
    expect(store.users.get('u1')).to.deep.equal(userRecord('u1', 'Ada'));
    expect(store.users.count()).to.equal(1);
  });

  it('hands out copies, so changing a returned record does not change the store', async () => {
    const inserted = await store.users.insert(userRecord('u1', 'Ada'));
    inserted.name = 'changed';
    const fetched = store.users.get('u1')!;
    fetched.name = 'changed too';
    store.users.list()[0]!.name = 'and again';
    expect(store.users.get('u1')!.name).to.equal('Ada');
  });

  it('lists with a filter, in insertion order', async () => {
    for (const [id, name] of [['u1', 'Ada'], ['u2', 'Bob'], ['u3', 'Ann']] as const) await store.users.insert(userRecord(id, name));
    expect(store.users.list((u) => u.name.startsWith('A')).map((u) => u.id)).to.deep.equal(['u1', 'u3']);
    expect(store.users.list().map((u) => u.id)).to.deep.equal(['u1', 'u2', 'u3']);
  });

  it('finds a record by a field, the first in insertion order, and sees every change made since', async () => {
    await store.devices.insert(deviceRecord('d1', 'Kitchen'));
    await store.devices.insert({ ...deviceRecord('d2', 'Hall'), deviceId: 'yoto-d1' });
    expect(store.devices.findBy('deviceId', 'yoto-d1')?.id).to.equal('d1');
    expect(store.devices.findBy('deviceId', 'yoto-nobody')).to.equal(undefined);
    await store.devices.update('d1', { deviceId: 'yoto-moved', userId: 'u9' });
    expect(store.devices.findBy('deviceId', 'yoto-d1')?.id).to.equal('d2');
    expect(store.devices.findBy('deviceId', 'yoto-moved')?.userId).to.equal('u9');
    await store.devices.delete('d2');
    expect(store.devices.findBy('deviceId', 'yoto-d1')).to.equal(undefined);
    // The stored record itself: frozen, so a caller cannot change the store through it.
    expect(Object.isFrozen(store.devices.findBy('deviceId', 'yoto-moved'))).to.equal(true);
  });

  it('refuses a duplicate id with a conflict and keeps the first record', async () => {
    await store.users.insert(userRecord('u1', 'Ada'));
    const error = await rejection(store.users.insert(userRecord('u1', 'Impostor')));
    expect(error.code).to.equal('conflict');
    expect(error.details).to.deep.equal({ collection: 'users', id: 'u1' });
    expect(store.users.get('u1')!.name).to.equal('Ada');
    expect(await storedUsers(dataDir)).to.deep.equal([userRecord('u1', 'Ada')]);
  });

  it('merges an update, refreshes updatedAt and cannot change the id', async () => {
    const now = new Date('2024-06-01T10:00:00.000Z');
    await store.close();
    store = await openStore({ dataDir, validate: requireName, now: () => now });
    await store.users.insert(userRecord('u1', 'Ada'));
    const updated = await store.users.update('u1', { name: 'Ada L.', id: 'other' });
    expect(updated).to.deep.equal({ ...userRecord('u1', 'Ada L.'), updatedAt: now.toISOString() });
    expect(store.users.get('other')).to.equal(undefined);
    expect(await storedUsers(dataDir)).to.deep.equal([updated]);
  });

  it('answers not_found when updating a record that does not exist', async () => {
    const error = await rejection(store.users.update('ghost', { name: 'x' }));
    expect(error.code).to.equal('not_found');
    expect(error.details).to.deep.equal({ collection: 'users', id: 'ghost' });
  });

  it('upserts: inserts a new record, then replaces it', async () => {
    await store.users.upsert(userRecord('u1', 'Ada'));
    await store.users.upsert(userRecord('u1', 'Grace'));
    expect(store.users.list()).to.deep.equal([userRecord('u1', 'Grace')]);
    expect(await storedUsers(dataDir)).to.deep.equal([userRecord('u1', 'Grace')]);
  });

  it('deletes, and tells whether there was something to delete', async () => {
    await store.users.insert(userRecord('u1', 'Ada'));
    expect(await store.users.delete('u1')).to.equal(true);
    expect(await store.users.delete('u1')).to.equal(false);
    expect(store.users.get('u1')).to.equal(undefined);
    expect(await storedUsers(dataDir)).to.deep.equal([]);
  });

  it('refuses an invalid record with the validator error and leaves memory and disk unchanged', async () => {
    await store.users.insert(userRecord('u1', 'Ada'));
    const before = await backend.durableState(dataDir);
    const invalid = { ...userRecord('u2', 'x'), name: 42 } as unknown as UserRecord;

    const insertError = await rejection(store.users.insert(invalid));
    const updateError = await rejection(store.users.update('u1', { name: 7 } as unknown as Partial<UserRecord>));
    const upsertError = await rejection(store.users.upsert({ ...invalid, id: 'u1' }));

    for (const error of [insertError, updateError, upsertError]) {
      expect(error).to.be.instanceOf(FakeValidationError);
      expect(error.code).to.equal('validation_failed');
    }
    expect(store.users.list()).to.deep.equal([userRecord('u1', 'Ada')]);
    expect(await backend.durableState(dataDir)).to.equal(before);
  });

  it('applies concurrent writes one at a time in call order; a refused one does not stop the others', async () => {
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 50; i++) writes.push(store.users.insert(userRecord(`u${i}`, `user ${i}`)));
    writes.push(store.users.update('u10', { name: 'renamed' }));
    writes.push(store.users.insert(userRecord('u20', 'duplicate')));
    writes.push(store.users.delete('u30'));
    writes.push(store.users.insert(userRecord('u30', 'back again')));
    const outcomes = await Promise.allSettled(writes);

    expect(outcomes.filter((o) => o.status === 'rejected')).to.have.length(1);
    expect(outcomes[51]).to.include({ status: 'rejected' });
    const expectedIds = [...Array.from({ length: 50 }, (_, i) => `u${i}`).filter((id) => id !== 'u30'), 'u30'];
    const onDisk = await storedUsers(dataDir);
    expect(onDisk.map((u) => u.id)).to.deep.equal(expectedIds);
    expect(onDisk.find((u) => u.id === 'u10')!.name).to.equal('renamed');
    expect(onDisk.find((u) => u.id === 'u30')!.name).to.equal('back again');
    expect(store.users.list()).to.deep.equal(onDisk);
  });

  it('keeps collections apart and reports their sizes in health()', async () => {
    await store.users.insert(userRecord('same-id', 'Ada'));
    await store.devices.insert(deviceRecord('same-id', 'Kitchen player'));
    await store.collection('scripts').insert(scriptRecord('s1', 'Bedtime'));
    const health = store.health();
    expect(health.status).to.equal('ok');
    expect(health.schemaVersion).to.equal(store.schemaVersion);
    expect(health.collections).to.deep.equal({ users: 1, devices: 1, audio_files: 0, scripts: 1, cyoa_stories: 0, playback_history: 0, sessions: 0 });
    expect(store.devices.get('same-id')!.name).to.equal('Kitchen player');
  });

  it('refuses writes after close and reports itself closed; close can be called twice', async () => {
    await store.close();
    await store.close();
    const error = await rejection(store.users.insert(userRecord('u1', 'Ada')));
    expect(error.code).to.equal('store_closed');
    expect(store.health()).to.include({ status: 'error', error: 'the store is closed' });
  });

  it('releases every file handle by the time close resolves', async () => {
    await store.close();
    const baseline = process.getActiveResourcesInfo().sort();
    store = await openStore({ dataDir, validate: requireName });
    await store.users.insert(userRecord('u1', 'Ada'));
    store.events.append({ id: 'e1', deviceId: 'd1', type: 'online', timestamp: new Date().toISOString(), data: {} });
    await store.events.query();
    await store.close();
    expect(process.getActiveResourcesInfo().sort()).to.deep.equal(baseline);
  });

  it('finishes writes already asked for before close resolves', async () => {
    const pending = [store.users.insert(userRecord('u1', 'Ada')), store.users.insert(userRecord('u2', 'Bob'))];
    await store.close();
    await Promise.all(pending);
    expect((await storedUsers(dataDir)).map((u) => u.id)).to.deep.equal(['u1', 'u2']);
  });
});
