import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { packageRoot } from '../../server/paths';

interface PackageJson {
  name: string;
  license?: string;
  keywords?: string[];
  repository?: { url?: string };
  bugs?: { url?: string };
  engines?: { node?: string };
  files?: string[];
  dependencies?: Record<string, string>;
  'node-red'?: { version?: string; nodes?: Record<string, string>; plugins?: Record<string, string> };
}

const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as PackageJson;

/** Packages the Flow Library scorecard flags, or that a Node-RED package must never ship as runtime dependencies. */
const KNOWN_BAD = ['request', 'node-red', 'node-red-node-test-helper', 'mocha', 'typescript'];

/** The Node-RED Flow Library scorecard rules that can be checked offline. */
describe('package.json passes the Flow Library scorecard rules we can check offline', () => {
  it('has a scoped name, the node-red keyword, a license file, repository and bugs links', () => {
    expect(pkg.name).to.match(/^@[a-z0-9-]+\/node-red-[a-z0-9-]+$/);
    expect(pkg.keywords).to.include('node-red');
    expect(pkg.license).to.equal('MIT');
    expect(fs.existsSync(path.join(packageRoot, 'LICENSE'))).to.equal(true);
    expect(pkg.repository?.url).to.match(/^git\+https:\/\/github\.com\//);
    expect(pkg.bugs?.url).to.match(/^https:\/\//);
  });

  it('declares Node.js >=20 and Node-RED >=4.1.0', () => {
    expect(pkg.engines?.node).to.equal('>=20');
    expect(pkg['node-red']?.version).to.equal('>=4.1.0');
  });

  it('lists every node that exists, each built from its own folder with runtime, editor and en-US locale', () => {
    const nodes = pkg['node-red']?.nodes ?? {};
    const folders = fs.readdirSync(path.join(packageRoot, 'nodes')).filter((name) => fs.existsSync(path.join(packageRoot, 'nodes', name, `${name}.html`)) && name !== 'yoto-sidebar');
    expect(Object.keys(nodes).sort()).to.deep.equal(folders.sort());
    for (const [type, file] of Object.entries(nodes)) {
      expect(file).to.equal(`dist/nodes/${type}/${type}.js`);
      for (const source of [`${type}.ts`, `${type}.html`, `locales/en-US/${type}.json`, `locales/en-US/${type}.html`]) {
        expect(fs.existsSync(path.join(packageRoot, 'nodes', type, source)), `nodes/${type}/${source}`).to.equal(true);
      }
      const editor = fs.readFileSync(path.join(packageRoot, 'nodes', type, `${type}.html`), 'utf8');
      expect(editor, `${type}.html registers its type with a literal string`).to.include(`RED.nodes.registerType('${type}'`);
    }
  });

  it('ships only what a user installs, including the examples', () => {
    expect(pkg.files).to.include.members(['dist/nodes', 'dist/server', 'dist/panel', 'examples', 'schemas']);
    expect(pkg.files?.some((entry) => entry.startsWith('test') || entry.startsWith('dist/test'))).to.equal(false);
  });

  it('has no known-bad or development-only package among its runtime dependencies', () => {
    const runtime = Object.keys(pkg.dependencies ?? {});
    for (const bad of KNOWN_BAD) expect(runtime, bad).to.not.include(bad);
  });
});
