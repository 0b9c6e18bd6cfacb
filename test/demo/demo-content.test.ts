import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { resolveHubOptions } from '../../server/config/hub-options';
import { DEMO_IDS, DEMO_MARKER_FILE, demoContentDir } from '../../server/demo/demo-content';
import { Hub } from '../../server/hub';
import { runExpectations } from '../../server/stories/simulate';
import { isDeployable, validateStory } from '../../server/stories/validate';
import { silentLogger } from '../../server/log/logger';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

/** A real hub on free ports over `dataDir`, as a restart of the same installation would make it. */
async function startHub(dataDir: string, demoContent: boolean): Promise<Hub> {
  const options = resolveHubOptions({ httpPort: 0, embeddedBrokerPort: 0, virtualCloudPort: 0, signInPort: 0, demoContent }, dataDir, {});
  const hub = new Hub(options, { logger: silentLogger, env: {} });
  await hub.start();
  return hub;
}

function counts(hub: Hub): { audio: number; scripts: string[]; stories: string[] } {
  return {
    audio: hub.store.audioFiles.count(),
    scripts: hub.store.scripts.list().map((s) => s.id).sort(),
    stories: hub.store.stories.list().map((s) => s.id),
  };
}

const ALL_SCRIPTS = Object.values(DEMO_IDS.scripts).sort();

describe('demo content on an empty hub', function () {
  this.timeout(60_000);
  let hub: Hub | undefined;

  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });
  after(removeTempDirs);

  it('adds three audio files, five scripts and the story once; a restart adds nothing', async () => {
    const dataDir = await makeTempDir('demo-content');
    hub = await startHub(dataDir, true);
    const first = counts(hub);
    expect(first).to.deep.equal({ audio: 3, scripts: ALL_SCRIPTS, stories: [DEMO_IDS.story] });
    expect(fs.existsSync(path.join(dataDir, DEMO_MARKER_FILE))).to.equal(true);
    await hub.stop();
    hub = await startHub(dataDir, true);
    expect(counts(hub)).to.deep.equal(first);
  });

  it('keeps what the user deleted of it deleted after a restart', async () => {
    const dataDir = await makeTempDir('demo-content');
    hub = await startHub(dataDir, true);
    await hub.store.scripts.delete(DEMO_IDS.scripts.cave);
    await hub.stop();
    hub = await startHub(dataDir, true);
    expect(hub.store.scripts.get(DEMO_IDS.scripts.cave)).to.equal(undefined);
  });

  it('completes a start that stopped half way, without a second copy of the audio', async () => {
    const dataDir = await makeTempDir('demo-content');
    hub = await startHub(dataDir, true);
    // As if the process had died after the audio and before the scripts and the marker.
    for (const id of ALL_SCRIPTS) await hub.store.scripts.delete(id);
    await hub.store.stories.delete(DEMO_IDS.story);
    await hub.stop();
    fs.rmSync(path.join(dataDir, DEMO_MARKER_FILE));
    hub = await startHub(dataDir, true);
    expect(counts(hub)).to.deep.equal({ audio: 3, scripts: ALL_SCRIPTS, stories: [DEMO_IDS.story] });
  });

  it('adds nothing to a hub that holds the user\'s own content, nor when the option is off', async () => {
    const dataDir = await makeTempDir('demo-content');
    hub = await startHub(dataDir, false);
    expect(counts(hub)).to.deep.equal({ audio: 0, scripts: [], stories: [] });
    // A user of the hub's own (content of an owner with no account is swept at start as a deleted user's).
    await hub.accounts.ensureAdmin({ email: 'owner@example.org', password: 'correct horse battery', name: 'Owner' });
    const owner = hub.store.users.list().find((user) => user.email === 'owner@example.org')!;
    await hub.library.files.importFile(path.join(demoContentDir, 'audio', 'Start.mp3'), { userId: owner.id });
    await hub.stop();
    hub = await startHub(dataDir, true);
    expect(counts(hub)).to.deep.equal({ audio: 1, scripts: [], stories: [] });
  });

  it('the demo story passes its own checks and its expect cases', async () => {
    const dataDir = await makeTempDir('demo-content');
    hub = await startHub(dataDir, true);
    const story = hub.store.stories.get(DEMO_IDS.story)!;
    const findings = validateStory(story, { audioExists: (id: string) => hub!.store.audioFiles.get(id) !== undefined });
    expect(isDeployable(findings), JSON.stringify(findings)).to.equal(true);
    expect(findings, 'no warnings either').to.deep.equal([]);
    expect(runExpectations(story)).to.include({ passed: 2, failed: 0 });
  });
});
