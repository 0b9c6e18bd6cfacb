import * as zlib from 'node:zlib';
import * as http from 'node:http';
import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { createLogger, type LogRecord } from '../../server/log/logger';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboardAdmin, type SignIn } from '../hub/api-world';

interface Raw {
  status: number;
  body: string;
}

/** A request sent as is: node's http keeps the path's bytes and any headers (fetch would normalise them). */
function raw(hub: Hub, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${hub.url}${path}`, { method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Issue 13 item 7: bodies the hub cannot read and paths it cannot decode are
 * the caller's fault: a 4xx with {error: {code, message, details}}, never a
 * 500, and never an error-level log line.
 */
describe('Requests the hub cannot read are 4xx, not 5xx', function () {
  let hub: Hub | undefined;
  let admin: SignIn;
  const records: LogRecord[] = [];

  before(async () => {
    hub = await startTestHub({}, { logger: createLogger({ level: 'debug', sink: (record) => records.push(record) }) });
    admin = await onboardAdmin(hub);
  });
  after(async () => stopTestHub(hub));

  const json = (extra: Record<string, string> = {}): Record<string, string> => ({ 'content-type': 'application/json', authorization: `Bearer ${admin.accessToken}`, ...extra });
  const gzip = zlib.gzipSync(JSON.stringify({ name: 'zipped', playlist: [] }));
  const cases: Array<{ label: string; method: string; path: string; headers: () => Record<string, string>; body?: Buffer | string; status: number; code: string }> = [
    { label: 'an unsupported charset', method: 'POST', path: '/api/scripts', headers: () => json({ 'content-type': 'application/json; charset=klingon' }), body: '{}', status: 415, code: 'unsupported_charset' },
    { label: 'an unsupported Content-Encoding', method: 'POST', path: '/api/scripts', headers: () => json({ 'content-encoding': 'x-lzma' }), body: '{}', status: 415, code: 'unsupported_content_encoding' },
    { label: 'gzip that is not gzip', method: 'POST', path: '/api/scripts', headers: () => json({ 'content-encoding': 'gzip' }), body: 'plain text, not gzip', status: 400, code: 'invalid_body_encoding' },
    { label: 'truncated gzip', method: 'POST', path: '/api/streams/smart', headers: () => json({ 'content-encoding': 'gzip' }), body: gzip.subarray(0, 12), status: 400, code: 'invalid_body_encoding' },
    { label: 'a Twee import in an unknown charset', method: 'POST', path: '/api/stories/import/twee', headers: () => json({ 'content-type': 'text/plain; charset=klingon' }), body: ':: Start\nHello', status: 415, code: 'unsupported_charset' },
    { label: 'a bad percent-escape in an API id', method: 'GET', path: '/api/audio/%E0%A4%A', headers: () => json(), status: 400, code: 'invalid_path' },
    { label: 'a bad percent-escape in a PATCH id', method: 'PATCH', path: '/api/scripts/%zz', headers: () => json(), body: '{"name":"x"}', status: 400, code: 'invalid_path' },
  ];

  for (const c of cases) {
    it(`${c.label} -> ${c.status} ${c.code}`, async () => {
      const mark = records.length;
      const answer = await raw(hub!, c.method, c.path, c.headers(), c.body);
      expect(answer.status, answer.body).to.equal(c.status);
      const error = (JSON.parse(answer.body) as { error: { code: string; message: string; details: unknown[] } }).error;
      expect(error.code).to.equal(c.code);
      expect(error.message).to.be.a('string');
      expect(error.details).to.be.an('array');
      expect(records.slice(mark).filter((r) => r.level === 'error'), 'error-level log lines').to.deep.equal([]);
    });
  }

  it('still reads a well-formed gzip body', async () => {
    const answer = await raw(hub!, 'POST', '/api/streams/smart', json({ 'content-encoding': 'gzip' }), gzip);
    expect(answer.status, answer.body).to.be.below(500);
    expect(answer.body).to.not.include('invalid_body_encoding');
  });
});
