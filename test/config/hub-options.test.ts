import * as path from 'node:path';
import { expect } from 'chai';
import { HubConfigError, resolveHubOptions } from '../../server/config/hub-options';

describe('hub options', () => {
  it('uses the documented defaults when nothing is set', () => {
    const options = resolveHubOptions({}, '/tmp/yoto-default', {});
    expect(options.http).to.deep.equal({ host: '127.0.0.1', port: 1881 });
    expect(options.broker.url).to.equal(undefined);
    expect(options.broker.embedded).to.deep.equal({ host: '127.0.0.1', port: 1883, anonymous: 'house' });
    expect(options.dataDir).to.equal(path.resolve('/tmp/yoto-default'));
    expect(options.logLevel).to.equal('info');
  });

  it('takes environment variables for blank settings, and settings over the environment', () => {
    const env = { YOTO_HUB_PORT: '2881', YOTO_BROKER_URL: 'mqtt://broker.lan:1883', YOTO_DATA_DIR: '/srv/yoto', YOTO_BROKER_PORT: '2883' };
    const fromEnv = resolveHubOptions({ httpPort: '', brokerUrl: '  ' }, '/tmp/x', env);
    expect(fromEnv.http.port).to.equal(2881);
    expect(fromEnv.broker.url).to.equal('mqtt://broker.lan:1883');
    expect(fromEnv.broker.embedded.port).to.equal(2883);
    expect(fromEnv.dataDir).to.equal('/srv/yoto');
    const fromSettings = resolveHubOptions({ httpPort: 3881, dataDir: '/data/hub' }, '/tmp/x', env);
    expect(fromSettings.http.port).to.equal(3881);
    expect(fromSettings.dataDir).to.equal('/data/hub');
  });

  it('refuses a bad port, URL or log level with a message naming the setting', () => {
    expect(() => resolveHubOptions({ httpPort: '99999' }, '/tmp/x', {})).to.throw(HubConfigError, /hub port must be a port number from 0 to 65535, got "99999"/);
    expect(() => resolveHubOptions({ brokerUrl: 'not a url' }, '/tmp/x', {})).to.throw(HubConfigError, /broker URL must be a URL/);
    expect(() => resolveHubOptions({ brokerUrl: 'http://broker:1883' }, '/tmp/x', {})).to.throw(HubConfigError, /broker URL must use mqtt:/);
    expect(() => resolveHubOptions({ logLevel: 'loud' }, '/tmp/x', {})).to.throw(HubConfigError, /log level must be debug, info, warn or error/);
  });

  it('keeps the store embedded unless YOTO_DATABASE_URL names a PostgreSQL database', () => {
    expect(resolveHubOptions({}, '/tmp/x', {})).to.not.have.property('databaseUrl');
    const url = 'postgres://hub:s3cret@db.lan:5432/yoto';
    expect(resolveHubOptions({}, '/tmp/x', { YOTO_DATABASE_URL: url }).databaseUrl).to.equal(url);
    expect(resolveHubOptions({ databaseUrl: 'postgresql://db/other' }, '/tmp/x', { YOTO_DATABASE_URL: url }).databaseUrl).to.equal('postgresql://db/other');
    expect(() => resolveHubOptions({}, '/tmp/x', { YOTO_DATABASE_URL: 'mysql://db/yoto' })).to.throw(HubConfigError, /database URL \(YOTO_DATABASE_URL\) must use postgres: or postgresql:/);
  });

  it('keeps broker credentials only when given', () => {
    const options = resolveHubOptions({ brokerUrl: 'mqtt://b:1883', brokerUsername: 'house', brokerPassword: 's3cret' }, '/tmp/x', {});
    expect(options.broker).to.include({ username: 'house', password: 's3cret' });
    expect(resolveHubOptions({}, '/tmp/x', {}).broker).to.not.have.property('username');
  });

  it('asks Yoto for the scopes every capability needs unless YOTO_SCOPES says otherwise', () => {
    expect(resolveHubOptions({}, '/tmp/x', {}).cloud.scopes).to.deep.equal([
      'offline_access', 'family:view', 'family:devices:view', 'family:devices:control', 'family:devices:manage',
      'family:library:view', 'user:content:view', 'user:content:manage', 'user:icons:manage',
    ]);
    const fromEnv = resolveHubOptions({}, '/tmp/x', { YOTO_SCOPES: 'offline_access family:devices:view,family:devices:control' });
    expect(fromEnv.cloud.scopes).to.deep.equal(['offline_access', 'family:devices:view', 'family:devices:control']);
    expect(resolveHubOptions({ scopes: ['offline_access'] }, '/tmp/x', {}).cloud.scopes).to.deep.equal(['offline_access']);
    expect(() => resolveHubOptions({}, '/tmp/x', { YOTO_SCOPES: 'family:devices:view "quoted"' })).to.throw(HubConfigError, /Yoto scopes are words like family:devices:control/);
  });

  it('simulates three virtual players unless YOTO_VIRTUAL_PLAYERS says otherwise, and checks the Yoto endpoints', () => {
    expect(resolveHubOptions({}, '/tmp/x', {}).cloud.virtualPlayers).to.equal(3);
    expect(resolveHubOptions({}, '/tmp/x', { YOTO_VIRTUAL_PLAYERS: '20' }).cloud.virtualPlayers).to.equal(20);
    expect(() => resolveHubOptions({ virtualPlayers: '0' }, '/tmp/x', {})).to.throw(HubConfigError, /virtual players must be a whole number from 1 to 100/);
    const urls = resolveHubOptions({}, '/tmp/x', { YOTO_AUTH_URL: 'http://127.0.0.1:9000', YOTO_API_URL: 'http://127.0.0.1:9000', YOTO_MQTT_URL: 'mqtt://127.0.0.1:9001' });
    expect(urls.cloud).to.include({ yotoAuthUrl: 'http://127.0.0.1:9000', yotoApiUrl: 'http://127.0.0.1:9000', yotoMqttUrl: 'mqtt://127.0.0.1:9001' });
    expect(() => resolveHubOptions({ yotoMqttUrl: 'http://x' }, '/tmp/x', {})).to.throw(HubConfigError, /Yoto MQTT URL must use/);
    expect(resolveHubOptions({}, '/tmp/x', { YOTO_VIRTUAL_STREAM_ORIGINS: 'https://media.example.com/path *' }).cloud.virtualStreamOrigins).to.deep.equal(['https://media.example.com', '*']);
  });
});
