import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { createLogger, type LogRecord } from '../../server/log/logger';
import type { DeviceEvent } from '../../server/types/schemas';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { fixturesDir } from '../helpers/fixtures';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { EMBEDDED_EVENTS } from '../store/backends';

const KIDS = DEFAULT_VIRTUAL_PLAYERS[1]!;
const START_MP3 = path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3');

/**
 * What an operator reads in the hub's logs and what a parent sees as alerts,
 * through the real hub: every log line written on behalf of a request carries
 * its request id, whichever component wrote it, and a player whose stream
 * fails raises a `stream_failed` alert on that player.
 */
describe('Hub: request ids on every log line, and stream-failure alerts', function () {
  let hub: Hub;
  const lines: LogRecord[] = [];
  let token: string;

  async function call(method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
    return fetch(`${hub.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  async function upload(requestId: string): Promise<{ id: string; fileName: string }> {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(START_MP3)]), 'Start.mp3');
    const res = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId }, body: form });
    expect(res.status).to.equal(201);
    return (await res.json()) as { id: string; fileName: string };
  }

  /** Resolves with the next event of `type` the hub records for `deviceId`. */
  function nextEvent(deviceId: string, type: DeviceEvent['type']): Promise<DeviceEvent> {
    return new Promise((resolve) => {
      const onEvent = (event: DeviceEvent): void => {
        if (event.type !== type || event.deviceId !== deviceId) return;
        hub.devices.bus.off(onEvent);
        resolve(event);
      };
      hub.devices.bus.on(onEvent, 'event', onEvent);
    });
  }

  before(async () => {
    hub = await startTestHub({}, { logger: createLogger({ level: 'debug', sink: (line) => lines.push(line) }) });
    const onboarding = await fetch(`${hub.url}/api/auth/onboarding`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.org', name: 'Ops', password: 'correct horse battery' }),
    });
    expect(onboarding.status).to.equal(201);
    token = ((await onboarding.json()) as { accessToken: string }).accessToken;
  });
  after(async () => stopTestHub(hub));

  /** How many player stream requests /metrics counted that were answered 206, 403 and 404. */
  async function streamRequestsCounted(): Promise<number[]> {
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics, 'no stream token in a label').to.not.match(/t=/);
    return [206, 403, 404].map((status) =>
      Number(new RegExp(`^yoto_http_requests_total\\{method="GET",route="/stream/audio/:fileId",status="${status}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0),
    );
  }

  it('tells the owner of a hub with no accounts the address to open, once it listens', () => {
    const hint = lines.filter((line) => line.msg === 'no accounts yet: open the panel to create the admin');
    expect(hint.map((line) => line['url'])).to.deep.equal([hub.url]);
    expect(hub.url).to.not.match(/:0$/);
  });

  it("writes a player's events to the event log file by itself, with no query to make it", async () => {
    const logged = nextEvent(KIDS.deviceId, 'volume_changed');
    const res = await call('POST', `/api/devices/${KIDS.deviceId}/command`, {}, { command: 'volume', volume: 31 });
    expect(res.status).to.equal(200);
    const event = await logged;
    // The file in the data directory, as an operator reads it (checked every few milliseconds until the hub wrote it; none before its first write).
    const written = (): Promise<string[]> => EMBEDDED_EVENTS.durableIds({ dir: path.join(hub.options.dataDir, 'events') }).catch(() => []);
    while (!(await written()).includes(event.id)) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await written()).to.include(event.id);
  });

  it('puts the request id on the lines other components write while serving it', async () => {
    const file = await upload('trace-upload-0001');
    const added = lines.find((line) => line.msg === 'audio file added' && line['id'] === file.id);
    expect(added, 'the library logged the upload').to.not.equal(undefined);
    expect(added!['requestId']).to.equal('trace-upload-0001');

    const created = await call('POST', '/api/scripts', { 'x-request-id': 'trace-script-0002' }, {
      name: 'Bedtime', type: 'playlist', definition: { tracks: [{ audioFileId: file.id }] },
    });
    expect(created.status, await created.clone().text()).to.equal(201);
    const scriptLine = lines.find((line) => line.msg === 'script created');
    expect(scriptLine?.['requestId']).to.equal('trace-script-0002');

    // Player streams (outside /api, no session) get request ids too.
    const refused = await fetch(`${hub.url}/stream/audio/${file.id}?t=forged.token`, { headers: { 'x-request-id': 'trace-player-0003' } });
    expect(refused.status).to.equal(403);
    expect(refused.headers.get('x-request-id')).to.equal('trace-player-0003');
    expect(lines.find((line) => line.msg === 'stream request refused')?.['requestId']).to.equal('trace-player-0003');

    // Every line that names one of these requests names it with its own id only.
    const ids = ['trace-upload-0001', 'trace-script-0002', 'trace-player-0003'];
    const tagged = lines.filter((line) => ids.includes(String(line['requestId'])));
    expect(tagged.length).to.be.at.least(6);
    // Lines written outside any request (start-up, MQTT) carry none.
    expect(lines.find((line) => line.msg === 'hub server listening')).to.not.have.property('requestId');
  });

  it('raises one stream_failed alert on the player whose stream fails, and none for a forged URL', async () => {
    const countedBefore = await streamRequestsCounted();
    const file = await upload('trace-upload-0004');
    const url = hub.streams.urlFor({ kind: 'audio', fileId: file.id }, { deviceId: KIDS.deviceId });
    expect((await fetch(url, { headers: { range: 'bytes=0-9' } })).status, 'the signed URL works').to.equal(206);

    // The script was redeployed elsewhere: the player's old link is revoked.
    await hub.streams.revokeDevice(KIDS.deviceId);
    const alerted = nextEvent(KIDS.deviceId, 'alert');
    const refused = await fetch(url);
    expect(refused.status).to.equal(403);
    const alert = await alerted;
    expect(alert.data).to.include({ alert: 'stream_failed', status: 403, reason: 'revoked', stream: 'audio', streamId: file.id });
    expect(String(alert.data['message'])).to.equal(`${KIDS.name} could not play an audio stream: its stream link was revoked; deploy the script again`);

    // The player retrying the same link does not raise a second alert; the event log holds exactly one.
    expect((await fetch(url)).status).to.equal(403);
    const events = await call('GET', `/api/devices/${KIDS.deviceId}/events?type=alert`);
    expect(events.status).to.equal(200);
    const logged = ((await events.json()) as { events: DeviceEvent[] }).events.filter((event) => event.data['alert'] === 'stream_failed');
    expect(logged.map((event) => event.data['streamId'])).to.deep.equal([file.id]);

    // A file that is gone from disk under a valid link: 404 and an alert saying so.
    const fresh = hub.streams.urlFor({ kind: 'audio', fileId: file.id }, { deviceId: KIDS.deviceId });
    fs.rmSync(path.join(hub.options.dataDir, 'audio', file.fileName));
    const missingAlert = nextEvent(KIDS.deviceId, 'alert');
    expect((await fetch(fresh)).status).to.equal(404);
    expect((await missingAlert).data).to.include({ alert: 'stream_failed', status: 404, reason: 'missing_on_disk' });

    // A forged token names no trustworthy player: refused, and no alert on anyone.
    const before = lines.length;
    let raised = 0;
    const count = (event: DeviceEvent): void => {
      if (event.type === 'alert') raised++;
    };
    hub.devices.bus.on(count, 'event', count);
    const forged = fresh.replace(/t=[^&]+/, 't=eyJnIjoiYTp4IiwiZCI6InZraWRzIn0.AAAA');
    expect((await fetch(forged)).status).to.equal(403);
    hub.devices.bus.off(count);
    expect(raised).to.equal(0);
    expect(lines.slice(before).some((line) => line.msg === 'stream request refused')).to.equal(true);

    // /metrics counts the player's requests by outcome (206, 403, 404), under the route, never the token.
    const counted = await streamRequestsCounted();
    expect(counted.map((n, i) => n - countedBefore[i]!)).to.deep.equal([1, 3, 1]);
  });
});
