import * as fs from 'node:fs';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';

/**
 * The Node-RED runtime the node tests load: NODE_RED_PATH when set (npm run
 * test:nr5 points it at Node-RED 5), else the node-red devDependency (4.1).
 * Resolved to node-red's main file (lib/red.js), which the test helper expects.
 */
function runtimePath(): string {
  return process.env.NODE_RED_PATH ? require.resolve(process.env.NODE_RED_PATH) : require.resolve('node-red');
}

/**
 * The same Node-RED main file (lib/red.js), for tests that embed the real runtime and
 * editor with RED.init/RED.start, as scripts/start.ts does, instead of the test helper.
 */
export function nodeRedRuntimePath(): string {
  return runtimePath();
}

export function initNodeRedHelper(): typeof helper {
  helper.init(runtimePath());
  return helper;
}

export function nodeRedVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(runtimePath()), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

type NodeModule = (RED: unknown) => void;

/**
 * The test helper's RED._ returns the message key unchanged. Real Node-RED
 * translates it from the node's locale catalog, so node tests wrap the node
 * module with a RED whose `_` reads that same catalog (en-US) and fills
 * `__name__` placeholders the way i18next does. A key missing from the
 * catalog throws, so a typo in a message key fails the test.
 */
export function withLocale(nodeModule: NodeModule, nodeType: string): NodeModule {
  const catalogFile = path.join(__dirname, '..', '..', 'nodes', nodeType, 'locales', 'en-US', `${nodeType}.json`);
  const catalog = JSON.parse(fs.readFileSync(catalogFile, 'utf8')) as Record<string, unknown>;
  const translate = (key: string, values: Record<string, unknown> = {}): string => {
    let entry: unknown = catalog;
    for (const part of key.split('.')) entry = (entry as Record<string, unknown> | undefined)?.[part];
    if (typeof entry !== 'string') throw new Error(`no en-US message for "${key}" in ${catalogFile}`);
    return entry.replace(/__(\w+)__/g, (_match, name: string) => String(values[name] ?? ''));
  };
  const wrapped: NodeModule = (RED) => {
    const localized = new Proxy(RED as object, {
      get: (target, property, receiver) => (property === '_' ? translate : Reflect.get(target, property, receiver)),
    });
    nodeModule(localized);
  };
  return wrapped;
}

/**
 * The compiled Yoto nodes of these types, as Node-RED loads them from package.json's
 * node-red.nodes (dist/nodes/<type>/<type>.js), each with its en-US locale (withLocale).
 */
export function yotoNodes(...types: string[]): NodeModule[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the node modules are CommonJS, required by path as Node-RED does
  return types.map((type) => withLocale(require(path.join(__dirname, '..', '..', 'nodes', type, type)) as NodeModule, type));
}
