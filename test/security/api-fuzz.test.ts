import { expect } from 'chai';
import fc from 'fast-check';
import type { Hub } from '../../server/hub';
import { buildOpenApi } from '../../server/openapi';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { answerOf, call, createResources, idFor, inviteMember, onboardAdmin, validBody, type Answer, type Resources, type SignIn } from '../hub/api-world';

interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
}
type Paths = Record<string, Record<string, { requestBody?: { content: Record<string, { schema?: Schema }> } }>>;

/** Fields the server sets itself (a body's value is ignored or overwritten). */
const SERVER_FIELDS = new Set(['id', 'userId', 'createdAt', 'updatedAt']);

/** Objects and arrays nested `depth` deep, as JSON text (built as text: the value would overflow the test's own recursion). */
function nestedText(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 === 0 ? '{"a":' : '[';
    close = (i % 2 === 0 ? '}' : ']') + close;
  }
  return `${open}{"leaf":1}${close}`;
}

/** `body` as JSON text with `field` set to the raw JSON `raw`. */
function withRaw(body: Record<string, unknown>, field: string, raw: string): string {
  const rest = { ...body };
  delete rest[field];
  const text = JSON.stringify(rest);
  return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(field)}:${raw}}`;
}

/** A value of none of the types a property allows. */
function wrongValues(schema: Schema | undefined): unknown[] {
  const types = schema?.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const candidates: Array<[string, unknown]> = [['string', 'wrong'], ['number', 12345.5], ['boolean', true], ['array', [1, 2]], ['object', { x: 1 }], ['null', null]];
  return candidates.filter(([type]) => !types.includes(type) && !(type === 'number' && types.includes('integer'))).map(([, value]) => value);
}

describe('Every JSON endpoint under schema-aware fuzzing', function () {
  let hub: Hub | undefined;
  let admin: SignIn;
  let member: SignIn;
  let live: Resources;
  const document = buildOpenApi() as unknown as { paths: Paths; components: { schemas: Record<string, Schema> } };
  const resolve = (schema: Schema | undefined): Schema | undefined =>
    schema?.$ref ? resolve(document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]) : schema;
  /** Top-level properties and required fields, over oneOf/anyOf/allOf branches too. */
  const shape = (schema: Schema | undefined): { properties: Record<string, Schema>; required: string[] } => {
    const s = resolve(schema);
    const properties: Record<string, Schema> = { ...(s?.properties ?? {}) };
    const required = [...(s?.required ?? [])];
    for (const branch of [...(s?.allOf ?? []), ...(s?.oneOf ?? []), ...(s?.anyOf ?? [])]) {
      const inner = shape(branch);
      for (const [k, v] of Object.entries(inner.properties)) properties[k] ??= v;
    }
    return { properties, required };
  };
  const routes = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([, op]) => op.requestBody?.content['application/json'] !== undefined).map(([method, op]) => ({ method, path, schema: op.requestBody!.content['application/json']!.schema })));

  /** Requests sent and answers by status class, reported at the end. */
  const counts = { requests: 0, '2xx': 0, '4xx': 0, '5xx': 0 };
  const count = (status: number): void => {
    counts.requests++;
    counts[status >= 500 ? '5xx' : status >= 400 ? '4xx' : '2xx']++;
  };
  /** A request with raw headers and body, counted. */
  const rawCall = async (method: string, url: string, headers: Record<string, string>, body?: string | Uint8Array): Promise<Answer> => {
    const payload = typeof body === 'string' || body === undefined ? body : new Blob([Buffer.from(body)]);
    const response = await fetch(`${hub!.url}${url}`, { method, headers: { authorization: `Bearer ${admin.accessToken}`, ...headers }, ...(payload !== undefined ? { body: payload } : {}) });
    count(response.status);
    return answerOf(response);
  };

  before(async () => {
    hub = await startTestHub();
    admin = await onboardAdmin(hub);
    member = await inviteMember(hub, admin, 'member@example.org', 'Member');
    live = await createResources(hub, admin.accessToken, 'fuzz', true);
  });
  after(async () => {
    console.log(`      fuzz: ${counts.requests} requests: ${counts['2xx']} accepted, ${counts['4xx']} refused (4xx), ${counts['5xx']} 5xx`);
    await stopTestHub(hub);
  });

  const checkError = (label: string, answer: Answer, field?: string): void => {
    expect(answer.status, `${label} -> ${answer.status} ${answer.text.slice(0, 300)}`).to.be.below(500);
    if (answer.status < 400) return;
    const error = (answer.json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    expect(error, `${label}: error body ${answer.text.slice(0, 300)}`).to.be.an('object');
    expect(error!.code, `${label}: code`).to.be.a('string');
    expect(error!.message, `${label}: message`).to.be.a('string');
    expect(error!.details, `${label}: details ${answer.text.slice(0, 300)}`).to.be.an('array');
    if (field !== undefined && answer.status === 400) {
      const paths = (error!.details as Array<{ path?: unknown }>).map((d) => String(d.path));
      expect(paths.some((p) => p.includes(field)), `${label}: details ${JSON.stringify(error!.details)} name "${field}"`).to.equal(true);
    }
  };

  it('has JSON-body routes to fuzz', () => {
    expect(routes.length).to.be.greaterThan(15);
  });

  for (const { method, path, schema } of [...(Object.entries(buildOpenApi()['paths'] as unknown as Paths).flatMap(([p, item]) =>
    Object.entries(item).filter(([, op]) => op.requestBody?.content['application/json'] !== undefined).map(([m, op]) => ({ method: m, path: p, schema: op.requestBody!.content['application/json']!.schema }))))]) {
    it(`${method.toUpperCase()} ${path}`, async () => {
      const url = (): string => path.replace('{id}', idFor(path, live, member.user.id) ?? 'x');
      const base = (): Record<string, unknown> => {
        const body = validBody(method, path, live, 'fuzz');
        return typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...(body as Record<string, unknown>) } : {};
      };
      const { properties, required } = shape(schema);
      const fields = Object.keys(properties).filter((k) => !SERVER_FIELDS.has(k));
      type Case = { label: string; body: unknown; field?: string };
      const cases: fc.Arbitrary<Case>[] = [
        fc.constantFrom<Case>(
          { label: 'null', body: 'null' },
          { label: 'array for object', body: [base()] },
          { label: 'malformed JSON', body: '{"name": "x",' },
          { label: 'a bare string', body: '"just a string"' },
          { label: '1 MB string', body: { ...base(), [fields[0] ?? 'name']: 'x'.repeat(1024 * 1024) } },
          { label: 'depth 5000', body: withRaw(base(), fields[0] ?? 'name', nestedText(5000)) },
          { label: 'depth 5000 at the top', body: nestedText(5000) },
        ),
        fc.record({ key: fc.string({ minLength: 1, maxLength: 12 }), value: fc.jsonValue({ maxDepth: 2 }) }).map(({ key, value }) => ({ label: `extra field "${key}"`, body: { ...base(), [key]: value } })),
      ];
      if (fields.length > 0) {
        cases.push(fc.constantFrom(...fields).chain((field) => {
          const wrong = wrongValues(properties[field]);
          return fc.constantFrom(...(wrong.length > 0 ? wrong : [Symbol.for('none')])).map((value): Case =>
            typeof value === 'symbol' ? { label: `no typed ${field}`, body: base() } : { label: `${field} = ${JSON.stringify(value)}`, body: { ...base(), [field]: value }, field: properties[field]?.type !== undefined ? field : undefined });
        }));
      }
      const missing = required.filter((k) => !SERVER_FIELDS.has(k));
      if (missing.length > 0) {
        cases.push(fc.constantFrom(...missing).map((field): Case => {
          const body = base();
          delete body[field];
          // Only a body that is otherwise complete must be refused for this field (POST /api/auth/register
          // without invitationToken is read as an open registration and names email, name, password).
          return { label: `without ${field}`, body, ...(validBody(method, path, live, 'fuzz') !== undefined ? { field } : {}) };
        }));
      }
      await fc.assert(
        fc.asyncProperty(fc.oneof(...cases), async ({ label, body, field }) => {
          const answer = await call(hub!, method.toUpperCase(), url(), admin.accessToken, body);
          count(answer.status);
          checkError(`${method.toUpperCase()} ${path} ${label}`, answer, field);
        }),
        { numRuns: 25 },
      );

      // Bodies in encodings and charsets the hub does not read: 4xx, never 5xx.
      const text = JSON.stringify(base());
      const encodings: Array<[string, Record<string, string>, string | Uint8Array]> = [
        ['unknown charset', { 'content-type': 'application/json; charset=klingon' }, text],
        ['UTF-16 body', { 'content-type': 'application/json; charset=utf-16le' }, new Uint8Array(Buffer.from(text, 'utf16le'))],
        ['unknown Content-Encoding', { 'content-type': 'application/json', 'content-encoding': 'x-lzma' }, text],
        ['gzip that is not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, text],
        ['deflate that is not deflate', { 'content-type': 'application/json', 'content-encoding': 'deflate' }, new Uint8Array([0x78, 0x9c, 1, 2, 3])],
        ['Latin-1 bytes sent as UTF-8', { 'content-type': 'application/json' }, new Uint8Array(Buffer.from(text.replace(/}$/, ',"x":"caf\u00e9"}'), 'latin1'))],
      ];
      for (const [label, headers, body] of encodings) {
        checkError(`${method.toUpperCase()} ${path} ${label}`, await rawCall(method.toUpperCase(), url(), headers, body));
      }
      // Path traversal in every string field and in the id.
      const traversals = ['../../../../etc/passwd', '..\\..\\..\\windows\\win.ini', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'a/../../b', '\u0000../x'];
      for (const field of fields.filter((f) => properties[f]?.type === 'string')) {
        for (const value of traversals) {
          const answer = await call(hub!, method.toUpperCase(), url(), admin.accessToken, { ...base(), [field]: value });
          count(answer.status);
          checkError(`${method.toUpperCase()} ${path} ${field} = ${JSON.stringify(value)}`, answer);
          expect(answer.text, 'a file outside the data directory').to.not.match(/root:x:0:0/);
        }
      }
      if (path.includes('{id}')) {
        for (const id of ['..%2F..%2F..%2Fetc%2Fpasswd', '..', '%2e%2e', '....%2F%2F', '%00', 'x'.repeat(5000)]) {
          const answer = await rawCall(method.toUpperCase(), path.replace('{id}', id), { 'content-type': 'application/json' }, JSON.stringify(base()));
          checkError(`${method.toUpperCase()} ${path} id ${id.slice(0, 40)}`, answer);
          expect(answer.text, 'a file outside the data directory').to.not.match(/root:x:0:0/);
        }
      }
    });
  }
});
