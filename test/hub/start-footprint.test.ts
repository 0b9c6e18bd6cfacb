import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../server/paths';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

const run = promisify(execFile);

/**
 * Starts a hub (as `npm start` composes it, on free ports) in a process of its own, since this one
 * has loaded the AWS SDK for the S3 suites; answers its state once started and the AWS SDK modules
 * it loaded, then stops it.
 */
const START_AND_LIST = `
const path = require('node:path');
const { resolveHubOptions } = require('./dist/server/config/hub-options');
const { Hub } = require('./dist/server/hub');
const { silentLogger } = require('./dist/server/log/logger');
(async () => {
  const options = resolveHubOptions({ httpPort: 0, embeddedBrokerPort: 0, virtualCloudPort: 0, signInPort: 0 }, process.env.HUB_DATA_DIR, {});
  const hub = new Hub(options, { logger: silentLogger, env: {} });
  await hub.start();
  const state = hub.state;
  const aws = Object.keys(require.cache).filter((file) => file.includes(path.sep + '@aws-sdk' + path.sep));
  await hub.stop();
  process.stdout.write(JSON.stringify({ state, aws }));
})().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

describe('what a hub loads to start', function () {
  this.timeout(60_000);
  after(() => removeTempDirs());

  it('keeps its audio in the data directory without loading the AWS SDK (loaded only with YOTO_OBJECT_STORE_URL)', async () => {
    const dataDir = await makeTempDir('yoto-footprint-');
    const { stdout } = await run(process.execPath, ['-e', START_AND_LIST], { cwd: packageRoot, env: { ...process.env, HUB_DATA_DIR: path.join(dataDir, 'data') } });
    const started = JSON.parse(stdout) as { state: string; aws: string[] };
    expect(started.state).to.equal('running');
    expect(started.aws).to.deep.equal([]);
  });
});
