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

export function initNodeRedHelper(): typeof helper {
  helper.init(runtimePath());
  return helper;
}

export function nodeRedVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(runtimePath()), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
