import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { CURRENT_SCHEMA_VERSION, MIGRATIONS, openStore, type Migration, type Store, type StoreError, type StoredData } from '../../server/store';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { EMBEDDED, describeStoreBackends, type StoreBackendUnderTest, type StoreLocation } from './backends';
import { acceptAll, userRecord } from './records';

async function openError(backend: StoreBackendUnderTest, location: StoreLocation, migrations?: readonly Migration[]): Promise<Error & Partial<StoreError>> {
  try {
    const store = await backend.open(location, { validate: acceptAll, ...(migrations ? { migrations } : {}) });
    await store.close();
  } catch (error) {
    return error as Error & Partial<StoreError>;
  }
  throw new Error('expected openStore to refuse');
}

async function writeDb(dataDir: string, content: string | StoredData): Promise<string> {
  const file = path.join(dataDir, 'db.json');
  await fs.writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function v1File(users: unknown[]): StoredData {
  return { schemaVersion: 1, users, devices: [], audio_files: [], scripts: [], cyoa_stories: [], playback_history: [] };
}

/** The first version number after the package's own migrations: test steps are numbered from it. */
const NEXT = CURRENT_SCHEMA_VERSION + 1;

/** A realistic next version: users gain a role, with existing users made admins. */
const addRoleToUsers: Migration = {
  version: NEXT,
  description: 'users get a role; existing users become admins',
  up(data) {
    const users = data['users'] as Array<Record<string, unknown>>;
    return { ...data, users: users.map((user) => ({ ...user, role: user['role'] ?? 'admin' })) };
  },
};

/** Depends on addRoleToUsers having run first. */
const addAdminFlag: Migration = {
  version: NEXT + 1,
  description: 'users get isAdmin derived from role',
  up(data) {
    const users = data['users'] as Array<Record<string, unknown>>;
    return { ...data, users: users.map((user) => ({ ...user, isAdmin: user['role'] === 'admin' })) };
  },
};

describeStoreBackends('store schema version and migrations', (backend) => {
  let location: StoreLocation;
  const open = (migrations?: readonly Migration[]): Promise<Store> => backend.open(location, { validate: acceptAll, ...(migrations ? { migrations } : {}) });
  beforeEach(async () => {
    location = await backend.fresh('migrations');
  });

  it('creates a fresh store at the current schema version with every collection empty', async () => {
    const store = await open();
    await store.close();
    expect(store.schemaVersion).to.equal(CURRENT_SCHEMA_VERSION);
    expect(await backend.readStored(location)).to.deep.equal({ ...v1File([]), sessions: [], schemaVersion: CURRENT_SCHEMA_VERSION });
    expect(await backend.backups(location)).to.deep.equal([]);
  });

  it('migrates a version 1 store to the current layout: every version 1 record kept, an empty sessions collection added', async () => {
    await backend.writeStored(location, v1File([userRecord('u1', 'Ada')]));
    const store = await open();
    expect(store.schemaVersion).to.equal(CURRENT_SCHEMA_VERSION);
    expect(store.users.list()).to.deep.equal([userRecord('u1', 'Ada')]);
    expect(store.collection('sessions').count()).to.equal(0);
    await store.close();
    expect(await backend.readStored(location)).to.deep.equal({ ...v1File([userRecord('u1', 'Ada')]), sessions: [], schemaVersion: CURRENT_SCHEMA_VERSION });
    expect(await backend.backups(location)).to.deep.equal([{ version: 1, data: v1File([userRecord('u1', 'Ada')]) }]);
  });

  it('migrates a version 1 store through a later step, keeping a backup of the original', async () => {
    const { role: _role, ...legacyUser } = userRecord('u1', 'Ada');
    await backend.writeStored(location, v1File([legacyUser]));

    const store = await open([...MIGRATIONS, addRoleToUsers]);
    expect(store.schemaVersion).to.equal(NEXT);
    expect(store.users.get('u1')).to.deep.include({ name: 'Ada', role: 'admin' });
    await store.users.insert(userRecord('u2', 'Bob'));
    await store.close();

    const stored = await backend.readStored(location);
    expect(stored['schemaVersion']).to.equal(NEXT);
    expect((stored['users'] as Array<{ id: string; role: string }>).map((u) => [u.id, u.role])).to.deep.equal([['u1', 'admin'], ['u2', 'member']]);
    expect(await backend.backups(location)).to.deep.equal([{ version: 1, data: v1File([legacyUser]) }]);
  });

  it('runs several steps in order and does not migrate (or back up) again on the next open', async () => {
    await backend.writeStored(location, v1File([{ ...userRecord('u1', 'Ada'), role: 'member' }]));
    const migrations = [...MIGRATIONS, addRoleToUsers, addAdminFlag];

    const first = await open(migrations);
    await first.close();
    const second = await open(migrations);
    await second.close();

    expect(second.schemaVersion).to.equal(NEXT + 1);
    expect(second.users.get('u1')).to.deep.include({ role: 'member', isAdmin: false });
    expect((await backend.backups(location)).map((backup) => backup.version)).to.deep.equal([1]);
  });

  it('treats a store from before schema versions as version 0 and brings it to the current layout', async () => {
    await backend.writeStored(location, { users: [userRecord('u1', 'Ada')] });
    const store = await open();
    await store.close();
    expect(store.users.count()).to.equal(1);
    expect(await backend.readStored(location)).to.deep.include({ schemaVersion: CURRENT_SCHEMA_VERSION, devices: [] });
    expect(await backend.backups(location)).to.deep.equal([{ version: 0, data: { users: [userRecord('u1', 'Ada')] } }]);
  });

  it('refuses a store from a newer version of the package and leaves it untouched', async () => {
    await backend.writeStored(location, { ...v1File([]), schemaVersion: 99 });
    const before = await backend.durableState(location);
    const error = await openError(backend, location);
    expect(error.code).to.equal('schema_too_new');
    expect(error.message).to.contain('schema version 99').and.contain(`up to ${CURRENT_SCHEMA_VERSION}`);
    expect(await backend.durableState(location)).to.equal(before);
  });

  it('leaves the store as it was when a migration step fails', async () => {
    await backend.writeStored(location, v1File([userRecord('u1', 'Ada')]));
    const before = await backend.durableState(location);
    const failing: Migration = {
      version: NEXT,
      description: 'always fails',
      up() {
        throw new Error('disk format unknown');
      },
    };
    const error = await openError(backend, location, [...MIGRATIONS, failing]);
    expect(error.code).to.equal('migration_failed');
    expect(error.message).to.contain(`schema version ${NEXT}`).and.contain('disk format unknown');
    expect(await backend.durableState(location)).to.equal(before);
    expect(await backend.backups(location)).to.deep.equal([]);
  });

  it('rejects a migration list with a gap, so no step can be skipped', async () => {
    const error = await openError(backend, location, [...MIGRATIONS, addAdminFlag]);
    expect(error.message).to.contain(`has version ${NEXT + 1}, expected ${NEXT}`);
  });
});

/** What only a file can get wrong, and the file-level details (byte-for-byte backups, the file named in errors). */
describe('store schema version and migrations: db.json', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await makeTempDir('migrations');
  });
  after(removeTempDirs);

  it('keeps a byte-for-byte backup of the original file', async () => {
    const original = JSON.stringify(v1File([userRecord('u1', 'Ada')]), null, 2);
    await writeDb(dataDir, original);
    const store = await openStore({ dataDir, validate: acceptAll });
    await store.close();
    expect(await fs.readFile(path.join(dataDir, 'db.json.v1.bak'), 'utf8')).to.equal(original);
  });

  it('names the file of a newer version in its refusal', async () => {
    const file = await writeDb(dataDir, { ...v1File([]), schemaVersion: 99 });
    const error = await openStore({ dataDir, validate: acceptAll }).then(
      (store) => store.close().then(() => undefined),
      (refusal: Error) => refusal,
    );
    expect(error?.message).to.contain(file);
  });

  it('refuses a file that is not valid JSON, names it, and never overwrites it', async () => {
    const file = await writeDb(dataDir, '{"schemaVersion": 1, "users": [');
    const error = await openError(EMBEDDED, { dataDir });
    expect(error.code).to.equal('store_corrupt');
    expect(error.message).to.contain(file).and.contain('not valid JSON');
    expect(await fs.readFile(file, 'utf8')).to.equal('{"schemaVersion": 1, "users": [');
    expect(await fs.readdir(dataDir)).to.deep.equal(['db.json']);
  });

  it('refuses a file whose collections are broken (not an array, duplicate ids)', async () => {
    await writeDb(dataDir, { ...v1File([]), devices: { d1: {} } });
    expect((await openError(EMBEDDED, { dataDir })).message).to.contain('"devices" is missing or not an array');
    await writeDb(dataDir, v1File([userRecord('u1', 'Ada'), userRecord('u1', 'Ada again')]));
    expect((await openError(EMBEDDED, { dataDir })).message).to.contain('"users" holds id "u1" twice');
  });
});
