import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { flowsDir, packageRoot } from '../../server/paths';

interface FlowNode {
  id?: unknown;
  type?: unknown;
  z?: unknown;
  wires?: unknown;
  [key: string]: unknown;
}

const OUR_TYPES = new Set(Object.keys((JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes));
const CORE_TYPES = new Set(['tab', 'comment', 'inject', 'debug', 'function', 'change', 'switch', 'mqtt in', 'mqtt out', 'mqtt-broker', 'delay', 'trigger', 'template', 'catch', 'status', 'link in', 'link out', 'group', 'junction']);

function flowFiles(): string[] {
  const dirs = [flowsDir, path.join(packageRoot, 'examples')];
  return dirs.flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f)));
}

describe('demo flows and examples', () => {
  for (const file of flowFiles()) {
    const name = path.relative(packageRoot, file);
    it(`${name} imports cleanly: known node types, wires and tabs that exist`, () => {
      const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as FlowNode[];
      expect(flow, 'a flow file is an array of nodes').to.be.an('array').that.is.not.empty;
      const ids = new Set(flow.map((node) => node.id));
      expect(ids.size, 'node ids are unique').to.equal(flow.length);
      const tabs = new Set(flow.filter((node) => node.type === 'tab').map((node) => node.id));
      for (const node of flow) {
        expect(node.id, 'every node has an id').to.be.a('string');
        const type = String(node.type);
        expect(OUR_TYPES.has(type) || CORE_TYPES.has(type), `${String(node.id)} has a node type Node-RED or this package provides: ${type}`).to.equal(true);
        if (node.z !== undefined) expect(tabs.has(node.z), `${String(node.id)} sits on a tab of the file`).to.equal(true);
        for (const target of ((node.wires ?? []) as unknown[][]).flat()) expect(ids.has(target), `${String(node.id)} is wired to ${String(target)}, which exists`).to.equal(true);
      }
    });
  }

  it('has at least one example per node type, each explained by a comment node or its tab info', () => {
    const examples = fs.readdirSync(path.join(packageRoot, 'examples')).filter((f) => f.endsWith('.json'));
    const used = new Set<string>();
    for (const file of examples) {
      const flow = JSON.parse(fs.readFileSync(path.join(packageRoot, 'examples', file), 'utf8')) as FlowNode[];
      for (const node of flow) used.add(String(node.type));
      const explained = flow.some((node) => node.type === 'comment' || (node.type === 'tab' && typeof node['info'] === 'string' && node['info'] !== ''));
      expect(explained, `${file} explains itself in a comment node (or its tab's info)`).to.equal(true);
    }
    for (const type of OUR_TYPES) expect(used.has(type), `an example uses ${type}`).to.equal(true);
  });
});
