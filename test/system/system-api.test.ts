import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { ADMIN, ALICE, startRig, type Rig } from '../devices/rig';

type Body = Record<string, unknown>;
const METRIC_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/;

describe('system API: config, metrics, request ids', function () {
  let rig: Rig;

  before(async () => {
    rig = await startRig();
  });
  after(async () => rig?.stop());

  it('answers the settings without secrets', async () => {
    (rig.hub.options.broker as { password?: string }).password = 'hunter2-secret';
    const answer = await rig.call('GET', '/api/system/config', ALICE);
    expect(answer.status).to.equal(200);
    expect(answer.text).to.not.contain('hunter2');
    expect(answer.text).to.not.contain('password');
    expect((answer.body as { config: Body }).config['dataDir']).to.equal(rig.hub.options.dataDir);
    expect((await rig.call('GET', '/api/system/config')).status).to.equal(401);
  });

  it('saves valid settings atomically (admin only) and names what needs a restart', async () => {
    const current = (await rig.call('GET', '/api/system/config', ADMIN)).body as { config: { http: Body } & Body };
    const next = { ...current.config, http: { ...current.config.http, port: 1999 }, logLevel: 'debug' };
    expect((await rig.call('PUT', '/api/system/config', ALICE, next)).status).to.equal(403);
    const saved = await rig.call('PUT', '/api/system/config', ADMIN, next);
    expect(saved.status, saved.text).to.equal(200);
    expect((saved.body as { restartRequired: string[] }).restartRequired).to.include.members(['http.port', 'logLevel']);
    expect(saved.text).to.not.contain('hunter2');
    const file = path.join(rig.hub.options.dataDir, 'hub-config.json');
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { http: Body; broker: Body };
    expect(written.http['port']).to.equal(1999);
    expect(written.broker['password'], 'a PUT without the write-only password keeps it').to.equal('hunter2-secret');
    expect(fs.readdirSync(rig.hub.options.dataDir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
    const bad = await rig.call('PUT', '/api/system/config', ADMIN, { ...next, http: { host: '127.0.0.1', port: 'x' } });
    expect(bad.status).to.equal(400);
    expect(bad.text).to.contain('/http/port');
    const moved = await rig.call('PUT', '/api/system/config', ADMIN, { ...next, dataDir: '/tmp/elsewhere' });
    expect(moved.status).to.equal(400);
  });

  it('serves Prometheus text that parses and counts requests', async () => {
    await rig.call('GET', '/api/system/config', ADMIN);
    await rig.call('GET', '/api/system/config', ADMIN);
    expect((await rig.call('GET', '/api/devices/no-such-player', ADMIN)).status).to.equal(404);
    const response = await fetch(`${rig.server.url}/metrics`);
    expect(response.headers.get('content-type')).to.contain('text/plain; version=0.0.4');
    const text = await response.text();
    for (const line of text.trimEnd().split('\n')) {
      expect(line.startsWith('# HELP ') || line.startsWith('# TYPE ') || METRIC_LINE.test(line), line).to.equal(true);
    }
    const count = /^yoto_http_requests_total\{method="GET",route="\/api\/system\/config",status="200"\} (\d+)$/m.exec(text);
    expect(count, text).to.not.equal(null);
    expect(Number(count![1])).to.be.at.least(2);
    // A refusal is counted under its route's pattern too, not the id asked for.
    expect(text).to.match(/^yoto_http_requests_total\{method="GET",route="\/api\/devices\/:id",status="404"\} 1$/m);
    expect(text).to.not.contain('no-such-player');
    for (const name of ['yoto_http_request_duration_seconds_bucket', 'yoto_websocket_clients', 'yoto_mqtt_messages_total', 'yoto_device_events_total', 'yoto_devices_online']) {
      expect(text).to.contain(`# TYPE ${name.replace(/_bucket$/, '')} `);
    }
  });

  it('gives every request an id, keeping a sane incoming one', async () => {
    const fresh = await rig.call('GET', '/api/system/config', ADMIN);
    expect(fresh.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const kept = await rig.call('GET', '/api/system/config', ADMIN, undefined, { 'x-request-id': 'trace-12345678' });
    expect(kept.headers.get('x-request-id')).to.equal('trace-12345678');
    const insane = await rig.call('GET', '/api/system/config', ADMIN, undefined, { 'x-request-id': 'a b"<script>' });
    expect(insane.headers.get('x-request-id')).to.not.equal('a b"<script>');
  });
});
