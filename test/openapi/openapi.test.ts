import { expect } from 'chai';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { buildOpenApi, HUB_ROUTES } from '../../server/openapi';
import { allExamples } from '../validation/examples';
import { startRig, type Rig } from '../devices/rig';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function resolvePointer(document: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json | undefined = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

function refsOf(node: Json, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const child of node) refsOf(child, found);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refsOf(value, found);
    }
  }
  return found;
}

describe('OpenAPI document', function () {
  const document = buildOpenApi() as { [key: string]: Json };

  it('is OpenAPI 3.1 with every $ref resolving inside the document', () => {
    expect(document['openapi']).to.equal('3.1.0');
    const refs = refsOf(document);
    expect(refs.length).to.be.greaterThan(50);
    for (const ref of refs) expect(resolvePointer(document, ref), ref).to.not.equal(undefined);
  });

  it('lists every route with responses, path parameters and a unique operation id', () => {
    const paths = document['paths'] as Record<string, Record<string, { responses?: Record<string, unknown>; parameters?: Array<{ name: string; in: string }>; operationId: string }>>;
    const ids = new Set<string>();
    for (const route of HUB_ROUTES) {
      const openPath = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const operation = paths[openPath]?.[route.method];
      expect(operation, `${route.method} ${route.path}`).to.not.equal(undefined);
      expect(Object.keys(operation!.responses ?? {}).length, openPath).to.be.greaterThan(0);
      for (const [, name] of openPath.matchAll(/\{([^}]+)\}/g)) {
        expect(operation!.parameters?.some((p) => p.in === 'path' && p.name === name), `${openPath} ${name}`).to.equal(true);
      }
      expect(ids.has(operation!.operationId), operation!.operationId).to.equal(false);
      ids.add(operation!.operationId);
    }
    for (const tag of ['auth', 'audio', 'scripts', 'stories', 'devices', 'analytics', 'system']) {
      expect(HUB_ROUTES.some((r) => r.tag === tag), tag).to.equal(true);
    }
  });

  it('has component schemas that accept the schema examples', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'https://example.test/openapi.json', components: document['components'] } as object);
    const components = (document['components'] as { schemas: Record<string, { title?: string }> }).schemas;
    const titles: Record<string, string> = { device: 'Device', 'device-update': 'DeviceUpdate', 'device-registration': 'DeviceRegistration', event: 'DeviceEvent', 'broker-command': 'BrokerCommandMessage', 'hub-config': 'HubConfig', 'api-error': 'ApiError', script: 'Script' };
    for (const [name, title] of Object.entries(titles)) {
      expect(components[title], title).to.not.equal(undefined);
      const validate = ajv.compile({ $ref: `https://example.test/openapi.json#/components/schemas/${title}` });
      for (const example of (allExamples as Record<string, unknown[]>)[name] ?? []) {
        expect(validate(example), `${title}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      }
    }
  });

  describe('served', () => {
    let rig: Rig;
    before(async () => {
      rig = await startRig();
    });
    after(async () => rig?.stop());

    it('answers GET /api/openapi.json without signing in', async () => {
      const answer = await rig.call('GET', '/api/openapi.json');
      expect(answer.status).to.equal(200);
      expect((answer.body as { openapi: string }).openapi).to.equal('3.1.0');
    });
  });
});
