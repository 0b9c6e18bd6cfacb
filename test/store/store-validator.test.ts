import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import { openStore, type Store } from '../../server/store';
import { storeValidator } from '../../server/store/store-validator';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { deviceRecord, type UserRecord } from './records';

describe('store with the schema validator the hub injects', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore({ dataDir: await makeTempDir('store-schemas'), validate: storeValidator() });
  });
  afterEach(() => store.close());
  after(removeTempDirs);

  it('stores a record that matches its schema', async () => {
    await store.devices.insert(deviceRecord('d1', 'Kitchen player'));
    expect(store.devices.get('d1')).to.deep.equal(deviceRecord('d1', 'Kitchen player'));
  });

  it('refuses a record that breaks its schema, naming the fields, and writes nothing', async () => {
    const before = await fs.readFile(store.file, 'utf8');
    const incomplete = { id: 'u1', name: 'Ada' } as UserRecord;
    let refusal: (Error & { code?: unknown; details?: unknown }) | undefined;
    await store.users.insert(incomplete).catch((error: Error) => (refusal = error));
    expect(refusal?.code).to.equal('validation_failed');
    expect(refusal?.message).to.contain('email');
    expect(store.users.count()).to.equal(0);
    expect(await fs.readFile(store.file, 'utf8')).to.equal(before);
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
