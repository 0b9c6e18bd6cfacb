import { expect } from 'chai';
import type { EmbeddedBroker } from '../../server/broker/embedded-broker';
import type { Hub } from '../../server/hub';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { redactUrlCredentials } from '../../server/log/redact';
import { resolveHubOptionsWithSaved } from '../../server/config/saved-config';
import { startAedes } from '../helpers/aedes-broker';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { call, inviteMember, onboardAdmin, type SignIn } from '../hub/api-world';

const PASSWORD = 'Br0kerS3cret-pw';

/** Every log line as text, errors with their messages. */
function lineText(record: LogRecord): string {
  return JSON.stringify(record, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value));
}

/**
 * Issue 13 item 4: with YOTO_BROKER_URL=mqtt://user:pass@host the password
 * reached anonymous health, a member's config and the log. Now no answer and
 * no log line carries it; anonymous health says only up or down.
 */
describe('Secrets: credentials in URLs stay out of every answer and log line', function () {
  let broker: EmbeddedBroker | undefined;
  let hub: Hub | undefined;
  let admin: SignIn;
  let member: SignIn;
  const lines: string[] = [];

  before(async () => {
    broker = await startAedes();
    const brokerUrl = `mqtt://hub-user:${PASSWORD}@127.0.0.1:${broker.port}`;
    const logger = createLogger({ level: 'debug', sink: (record) => lines.push(lineText(record)) });
    hub = await startTestHub({ brokerUrl }, { logger });
    admin = await onboardAdmin(hub);
    member = await inviteMember(hub, admin, 'member@example.org', 'Member');
  });
  after(async () => {
    await stopTestHub(hub);
    await broker?.stop();
  });

  it('the hub really uses the credentials (it is connected to the broker with them)', () => {
    expect(hub!.broker.health().status).to.equal('connected');
  });

  it('anonymous health says only up or down; members get component states; admins details without the password', async () => {
    const anonymous = await call(hub!, 'GET', '/api/system/health');
    expect(anonymous.json).to.have.all.keys('status');
    const asMember = await call(hub!, 'GET', '/api/system/health', member.accessToken);
    const memberReport = asMember.json as { components: Record<string, Record<string, unknown>> };
    expect(Object.keys(memberReport.components)).to.have.members(['store', 'broker', 'cloud', 'http']);
    for (const component of Object.values(memberReport.components)) expect(Object.keys(component)).to.satisfy((keys: string[]) => keys.every((k) => k === 'status' || k === 'state'));
    expect(asMember.text).to.not.match(/mqtt:|hub-user|clientId|dataDir/);
    const asAdmin = await call(hub!, 'GET', '/api/system/health', admin.accessToken);
    expect(asAdmin.json).to.have.nested.property('components.broker.clientId');
    expect(asAdmin.text).to.include('mqtt://[redacted]@127.0.0.1');
    for (const answer of [anonymous, asMember, asAdmin]) expect(answer.text).to.not.include(PASSWORD);
  });

  it('GET /api/system/config shows neither the password nor the URL\'s credentials, to members or admins', async () => {
    for (const who of [member, admin]) {
      const answer = await call(hub!, 'GET', '/api/system/config', who.accessToken);
      expect(answer.status).to.equal(200);
      expect(answer.text).to.not.include(PASSWORD);
      expect(answer.json).to.have.nested.property('config.broker.url', `mqtt://[redacted]@127.0.0.1:${broker!.port}`);
    }
  });

  it('settings sent back as GET showed them keep the URL\'s credentials; a changed redacted URL is refused', async () => {
    const shown = (await call(hub!, 'GET', '/api/system/config', admin.accessToken)).json as { config: Record<string, unknown> };
    const { databaseUrl: _none, ...settings } = shown.config;
    const saved = await call(hub!, 'PUT', '/api/system/config', admin.accessToken, settings);
    expect(saved.status, saved.text).to.equal(200);
    expect(saved.text).to.not.include(PASSWORD);
    // The hub started again on the saved file connects with the real credentials, not with "[redacted]".
    const restarted = resolveHubOptionsWithSaved({}, hub!.options.dataDir, {});
    expect(restarted.broker.url).to.equal(`mqtt://hub-user:${PASSWORD}@127.0.0.1:${broker!.port}`);
    const moved = { ...settings, broker: { ...(settings['broker'] as object), url: `mqtt://[redacted]@192.0.2.1:${broker!.port}` } };
    const refused = await call(hub!, 'PUT', '/api/system/config', admin.accessToken, moved);
    expect(refused.status).to.equal(400);
    expect(refused.json).to.have.nested.property('error.details[0].path', '/broker/url');
  });

  it('refuses settings nested deeper than any setting with a 400, not a 5xx', async () => {
    const depth = 100_000;
    const body = `{"broker":${'{"url":'.repeat(depth)}"mqtt://[redacted]@h"${'}'.repeat(depth)}}`;
    const answer = await call(hub!, 'PUT', '/api/system/config', admin.accessToken, body);
    expect(answer.status, answer.text.slice(0, 300)).to.equal(400);
    expect(answer.json).to.have.nested.property('error.code', 'validation_failed');
  });

  it('no log line carries the password (debug level, start to now)', () => {
    expect(lines.length).to.be.greaterThan(10);
    const leaks = lines.filter((line) => line.includes(PASSWORD));
    expect(leaks, leaks.join('\n').slice(0, 2000)).to.deep.equal([]);
    expect(lines.some((line) => line.includes('[redacted]@127.0.0.1')), 'the broker URL is logged, redacted').to.equal(true);
  });

  it('redacts the user-info of every URL in a text, and nothing else', () => {
    expect(redactUrlCredentials('connect mqtt://u:p@h:1883/x and wss://a@b/c, http://plain/x?y=z@w')).to.equal('connect mqtt://[redacted]@h:1883/x and wss://[redacted]@b/c, http://plain/x?y=z@w');
    expect(redactUrlCredentials('no url: user@example.org')).to.equal('no url: user@example.org');
    expect(redactUrlCredentials('mqtt://' + '@'.repeat(5) + 'host')).to.equal('mqtt://[redacted]@host');
  });
});
