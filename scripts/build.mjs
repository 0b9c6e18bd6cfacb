#!/usr/bin/env node
// Builds everything that runs: TypeScript (server, nodes, scripts, tests, bench) with tsc,
// the Node-RED editor files next to each compiled node, and the Lit panel with esbuild.
// `--if-stale` skips the build when nothing changed since the last one (npm start, npm run bench).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.build-stamp');
const sources = ['server', 'nodes', 'panel', 'scripts', 'test', 'bench', 'schemas', 'package.json', 'tsconfig.json'];

function newestMtime(entry) {
  const full = path.join(root, entry);
  if (!fs.existsSync(full)) return 0;
  const stat = fs.statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of fs.readdirSync(full)) {
    if (child === 'node_modules' || child === 'results') continue;
    newest = Math.max(newest, newestMtime(path.join(entry, child)));
  }
  return newest;
}

function isStale() {
  if (!fs.existsSync(stamp)) return true;
  const built = fs.statSync(stamp).mtimeMs;
  return sources.some((entry) => newestMtime(entry) > built);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build failed: ${command} ${args.join(' ')}`);
    process.exit(result.status ?? 1);
  }
}

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyDir(src, dst);
    else fs.copyFileSync(src, dst);
  }
}

/** Copies each node's editor .html, locales and icons beside its compiled .js. */
function buildNodeEditors() {
  const nodesDir = path.join(root, 'nodes');
  for (const name of fs.readdirSync(nodesDir)) {
    const editor = path.join(nodesDir, name, `${name}.html`);
    if (!fs.existsSync(editor)) continue;
    const html = fs.readFileSync(editor, 'utf8');
    // The Flow Library reads node types from a literal registerType call (editor plugins register with registerPlugin).
    if (!html.includes(`RED.nodes.registerType('${name}'`) && !html.includes(`RED.plugins.registerPlugin('${name}'`)) {
      console.error(`build failed: ${path.relative(root, editor)} must call RED.nodes.registerType('${name}', {...}) with a literal type`);
      process.exit(1);
    }
    const out = path.join(dist, 'nodes', name);
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(editor, path.join(out, `${name}.html`));
    for (const folder of ['locales', 'icons']) {
      const src = path.join(nodesDir, name, folder);
      if (fs.existsSync(src)) copyDir(src, path.join(out, folder));
    }
  }
}

async function buildPanel() {
  const esbuild = await import('esbuild');
  const out = path.join(dist, 'panel');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['panel/src/main.ts'],
    outdir: path.join(out, 'assets'),
    bundle: true,
    splitting: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    metafile: true,
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyDir(path.join(root, 'panel', 'public'), out);
}

if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);

fs.mkdirSync(dist, { recursive: true });
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
buildNodeEditors();
await buildPanel();
fs.writeFileSync(stamp, new Date().toISOString() + '\n');
console.log('build: done');
