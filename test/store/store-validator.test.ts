import { expect } from 'chai';
import type { Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { describeStoreBackends, type StoreLocation } from './backends';
import { deviceRecord, type UserRecord } from './records';

describeStoreBackends('store with the schema validator the hub injects', (backend) => {
  let store: Store;
  let location: StoreLocation;
  beforeEach(async () => {
    location = await backend.fresh('store-schemas');
    store = await backend.open(location, { validate: storeValidator() });
  });
  afterEach(() => store.close());

  it('stores a record that matches its schema', async () => {
    await store.devices.insert(deviceRecord('d1', 'Kitchen player'));
    expect(store.devices.get('d1')).to.deep.equal(deviceRecord('d1', 'Kitchen player'));
  });

  it('refuses a record that breaks its schema, naming the fields, and writes nothing', async () => {
    const before = await backend.durableState(location);
    const incomplete = { id: 'u1', name: 'Ada' } as UserRecord;
    let refusal: (Error & { code?: unknown; details?: unknown }) | undefined;
    await store.users.insert(incomplete).catch((error: Error) => (refusal = error));
    expect(refusal?.code).to.equal('validation_failed');
    expect(refusal?.message).to.contain('email');
    expect(store.users.count()).to.equal(0);
    expect(await backend.durableState(location)).to.equal(before);
  });

  it('refuses an update that would make a stored record invalid', async () => {
    await store.devices.insert(deviceRecord('d1', 'Kitchen player'));
    const refusal = await store.devices.update('d1', { status: 'exploded' as 'idle' }).then(
      () => undefined,
      (error: Error & { code?: unknown }) => error,
    );
    expect(refusal?.code).to.equal('validation_failed');
    expect(store.devices.get('d1')!.status).to.equal('unknown');
  });
});
