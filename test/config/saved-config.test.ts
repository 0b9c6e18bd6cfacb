import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveHubOptions } from '../../server/config/hub-options';
import {
  loadSavedHubConfig,
  mergeSavedSettings,
  resolveDataDir,
  resolveHubOptionsWithSaved,
  SAVED_CONFIG_FILE,
} from '../../server/config/saved-config';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { HUB_CONFIG_FILE } from '../../server/system/config-routes';
import type { HubConfig } from '../../server/types/schemas';

describe('saved hub config (<dataDir>/hub-config.json) applied at start', () => {
  let dataDir: string;
  let records: LogRecord[];
  const logger = (): ReturnType<typeof createLogger> => createLogger({ level: 'debug', sink: (record) => records.push(record) });
  const saved = (overrides: Partial<HubConfig> = {}): HubConfig => ({
    dataDir,
    http: { host: '0.0.0.0', port: 2881, publicUrl: 'https://yoto.example.com' },
    broker: { url: 'mqtt://192.168.1.10:1883', username: 'yoto', password: 'secret', embedded: { host: '127.0.0.1', port: 2883, anonymous: 'house' } },
    cloud: { mode: 'virtual', virtualHost: '127.0.0.1', virtualPort: 2882, signInPort: 2884, scopes: ['offline_access', 'family:devices:view', 'family:devices:control'], virtualPlayers: 5 },
    logLevel: 'debug',
    ...overrides,
  });
  const write = (content: string): void => fs.writeFileSync(path.join(dataDir, SAVED_CONFIG_FILE), content);

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-saved-config-'));
    records = [];
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('reads the same file name the config routes write', () => {
    expect(SAVED_CONFIG_FILE).to.equal(HUB_CONFIG_FILE);
  });

  it('no file: undefined, with no warning', () => {
    expect(loadSavedHubConfig(dataDir, logger())).to.equal(undefined);
    expect(records.filter((r) => r.level === 'warn')).to.deep.equal([]);
  });

  it('a valid file is returned as written', () => {
    write(JSON.stringify(saved(), null, 2));
    expect(loadSavedHubConfig(dataDir, logger())).to.deep.equal(saved());
  });

  it('a file that is not JSON: a warning naming the file, and ignored', () => {
    write('{ "http": ');
    expect(loadSavedHubConfig(dataDir, logger())).to.equal(undefined);
    const warning = records.find((r) => r.level === 'warn');
    expect(warning?.msg).to.match(/not valid JSON and are ignored/);
    expect(warning?.msg).to.include(path.join(dataDir, SAVED_CONFIG_FILE));
  });

  it('a file that fails the hub-config schema: a warning naming the bad field, and ignored', () => {
    write(JSON.stringify({ ...saved(), http: { host: '0.0.0.0', port: 99999 } }));
    expect(loadSavedHubConfig(dataDir, logger())).to.equal(undefined);
    const warning = records.find((r) => r.level === 'warn');
    expect(warning?.msg).to.match(/invalid and are ignored/);
    expect(warning?.msg).to.match(/port/);
  });

  it('a broken file does not stop the hub from resolving its options', () => {
    write('not json');
    const options = resolveHubOptionsWithSaved({ dataDir }, '/unused', { YOTO_HUB_PORT: '3001' }, logger());
    expect(options.http.port).to.equal(3001);
    expect(records.some((r) => r.level === 'warn')).to.equal(true);
  });

  describe('precedence: surface > saved > environment > defaults', () => {
    it('saved beats the environment and the defaults', () => {
      write(JSON.stringify(saved()));
      const env = { YOTO_HUB_PORT: '3001', YOTO_LOG_LEVEL: 'error', YOTO_BROKER_URL: 'mqtt://env-broker:1883' };
      const options = resolveHubOptionsWithSaved({ dataDir }, '/unused', env);
      expect(options.http).to.deep.equal({ host: '0.0.0.0', port: 2881, publicUrl: 'https://yoto.example.com' });
      expect(options.broker).to.deep.equal(saved().broker);
      expect(options.cloud).to.deep.equal(saved().cloud);
      expect(options.logLevel).to.equal('debug');
      expect(options.dataDir).to.equal(path.resolve(dataDir));
    });

    it('the surface beats the saved config; blank surface settings do not count', () => {
      write(JSON.stringify(saved()));
      const options = resolveHubOptionsWithSaved({ dataDir, httpPort: 4001, logLevel: 'warn', httpHost: '  ', brokerUrl: '' }, '/unused', {});
      expect(options.http.port).to.equal(4001);
      expect(options.logLevel).to.equal('warn');
      expect(options.http.host).to.equal('0.0.0.0');
      expect(options.broker.url).to.equal('mqtt://192.168.1.10:1883');
    });

    it('what the saved config leaves out still comes from the environment, then the defaults', () => {
      const { publicUrl: _p, ...http } = saved().http;
      write(JSON.stringify(saved({ http, broker: { embedded: { host: '127.0.0.1', port: 2883 } } })));
      const options = resolveHubOptionsWithSaved({ dataDir }, '/unused', { YOTO_PUBLIC_URL: 'https://env.example.com', YOTO_BROKER_URL: 'mqtt://env-broker:1883' });
      expect(options.http.publicUrl).to.equal('https://env.example.com');
      expect(options.broker.url).to.equal('mqtt://env-broker:1883');
      expect(options.broker.username).to.equal(undefined);
    });

    it('no saved config: the same as resolveHubOptions', () => {
      const env = { YOTO_HUB_PORT: '3001' };
      expect(resolveHubOptionsWithSaved({ dataDir, logLevel: 'warn' }, '/unused', env)).to.deep.equal(resolveHubOptions({ dataDir, logLevel: 'warn' }, '/unused', env));
    });

    it('the data directory never comes from the file (it is where the file was found)', () => {
      write(JSON.stringify(saved({ dataDir: '/somewhere/else' })));
      expect(resolveHubOptionsWithSaved({ dataDir }, '/unused', {}).dataDir).to.equal(path.resolve(dataDir));
      expect(mergeSavedSettings({}, saved({ dataDir: '/somewhere/else' })).dataDir).to.equal(undefined);
    });

    it('finds the data directory from the surface, then YOTO_DATA_DIR, then the default', () => {
      write(JSON.stringify(saved()));
      expect(resolveDataDir({ dataDir }, '/default', { YOTO_DATA_DIR: '/env' })).to.equal(path.resolve(dataDir));
      expect(resolveDataDir({}, '/default', { YOTO_DATA_DIR: dataDir })).to.equal(path.resolve(dataDir));
      expect(resolveDataDir({}, '/default', {})).to.equal(path.resolve('/default'));
      // The saved file is found through YOTO_DATA_DIR too.
      expect(resolveHubOptionsWithSaved({}, '/default', { YOTO_DATA_DIR: dataDir }).http.port).to.equal(2881);
    });

    it('mergeSavedSettings without a saved config copies the settings', () => {
      const settings = { httpPort: '1234' };
      const merged = mergeSavedSettings(settings, undefined);
      expect(merged).to.deep.equal(settings);
      expect(merged).to.not.equal(settings);
    });
  });
});
