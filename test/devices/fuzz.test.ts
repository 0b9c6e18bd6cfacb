import { expect } from 'chai';
import fc from 'fast-check';
import type { DeviceCommander } from '../../server/yoto/device-command';
import { ADMIN, ALICE, LIVING, startRig, type Rig } from './rig';

/** Answers at once, so fuzzing never waits on a player (the real round trip is tested elsewhere). */
const instantCommander: DeviceCommander = {
  execute: async (deviceId, command) => ({ deviceId, command: command.type, confirmedBy: 'ack', latencyMs: 0 }),
};

const wrongTypes = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }));

function schemaAware(keys: string[]): fc.Arbitrary<unknown> {
  return fc.dictionary(fc.constantFrom(...keys, 'extra', '__proto__', 'constructor'), wrongTypes, { maxKeys: keys.length + 1 });
}

function deeplyNested(depth: number): unknown {
  let value: unknown = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}

const bodies = (keys: string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    schemaAware(keys),
    fc.jsonValue({ maxDepth: 4 }),
    fc.constantFrom<unknown>(deeplyNested(2000), { name: 'x'.repeat(900_000) }, '"just a string"', '[', 'null', '{"command":"play","card_id":"demo1","card_id":7}'),
  );

describe('JSON endpoints under fuzzing never answer 5xx', function () {
  let rig: Rig;

  before(async () => {
    rig = await startRig({ commander: instantCommander });
    expect((await rig.call('POST', '/api/devices', ALICE, { deviceId: LIVING })).status).to.equal(201);
  });
  after(async () => rig?.stop());

  const targets: Array<[string, string, string[]]> = [
    ['POST', '/api/devices', ['deviceId', 'name', 'room']],
    ['PATCH', `/api/devices/${LIVING}`, ['name', 'room', 'metadata']],
    ['POST', `/api/devices/${LIVING}/command`, ['command', 'card_id', 'script_id', 'volume', 'position', 'seconds', 'color', 'chapter_key', 'request_id']],
    ['PUT', '/api/system/config', ['dataDir', 'http', 'broker', 'cloud', 'logLevel']],
  ];
  for (const [method, path, keys] of targets) {
    it(`${method} ${path.replace(LIVING, ':id')}`, async () => {
      await fc.assert(
        fc.asyncProperty(bodies(keys), fc.constantFrom(ALICE, ADMIN), async (body, user) => {
          const answer = await rig.call(method, path, user, typeof body === 'string' ? body : JSON.stringify(body));
          expect(answer.status, `${JSON.stringify(body)?.slice(0, 200)} -> ${answer.text.slice(0, 200)}`).to.be.below(500);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('query strings of events and analytics', async () => {
    const paths = [`/api/devices/${LIVING}/events`, '/api/analytics/overview', '/api/analytics/devices', '/api/analytics/content', '/api/analytics/playback'];
    const names = fc.constantFrom('type', 'since', 'until', 'before', 'limit', 'from', 'to', 'deviceId', 'x');
    const values = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constant('9'.repeat(400)));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.array(fc.tuple(names, values), { maxLength: 5 }), async (path, params) => {
        const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        const answer = await rig.call('GET', `${path}?${query}`, ALICE);
        expect(answer.status, `${path}?${query} -> ${answer.text.slice(0, 200)}`).to.be.below(500);
      }),
      { numRuns: 100 },
    );
  });
});
