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

/** The start page's view: in the first chunk with the shell, not loaded on first visit as the others are. */
const FIRST_VIEW = 'dashboard-view';

/**
 * Keeps the first view's code (the shell, the Dashboard, Lit, the state) in one chunk. esbuild
 * puts a module shared by several entry points (every lazily loaded view is one) into a chunk
 * per set of entry points that reach it, which made the Dashboard a dozen small files, more than
 * a browser fetches at once from one host over HTTP/1.1. Each lazily loaded view here also
 * imports main.ts (it runs after main.ts anyway, so this costs nothing): every module of the
 * first view is then reached by the same entry points and lands in the same chunk.
 */
function firstViewInOneChunk() {
  const main = path.join(root, 'panel', 'src', 'main.ts');
  return {
    name: 'first-view-in-one-chunk',
    setup(build) {
      build.onLoad({ filter: /[\\/]panel[\\/]src[\\/]views[\\/][a-z-]+\.ts$/ }, async (args) => {
        if (path.basename(args.path, '.ts') === FIRST_VIEW) return undefined;
        const source = await fs.promises.readFile(args.path, 'utf8');
        return { contents: `${source}\nimport ${JSON.stringify(main)};\n`, loader: 'ts' };
      });
    },
  };
}

async function buildPanel() {
  const esbuild = await import('esbuild');
  const out = path.join(dist, 'panel');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
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
    plugins: [firstViewInOneChunk()],
  });
  // The boot script: a classic script index.html holds inline and runs before the modules, so the
  // stored session's refresh and the WebSocket start while the modules load, without a request of its own.
  const boot = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['panel/src/boot/boot.ts'],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'warning',
  });
  copyDir(path.join(root, 'panel', 'public'), out);
  writeStartPage(result.metafile, out, boot.outputFiles[0].text.trim());
}

/**
 * Writes what index.html needs before the modules: the boot script inline, and
 * <link rel="modulepreload"> for main.js's static imports (the browser finds them
 * only once main.js has arrived and been parsed), so they load with main.js.
 */
function writeStartPage(metafile, out, bootScript) {
  const mainKey = Object.keys(metafile.outputs).find((key) => key.endsWith('/assets/main.js'));
  if (!mainKey) throw new Error('build failed: esbuild wrote no assets/main.js');
  const assetsDir = mainKey.slice(0, -'main.js'.length);
  // An output's chunks it imports statically, as the URLs the panel fetches them at.
  const staticImportUrls = (output) => output.imports
    .filter((entry) => entry.kind === 'import-statement' && !entry.external)
    .map((entry) => `/assets/${entry.path.slice(assetsDir.length)}`);
  const mainImports = staticImportUrls(metafile.outputs[mainKey]);
  // Each lazily loaded view: its chunk and the chunks it imports, so the app can ask for them all
  // at once when the view is first visited (panel/src/app/view-preload.ts reads this).
  const views = {};
  for (const [key, output] of Object.entries(metafile.outputs)) {
    const match = /panel\/src\/views\/([a-z-]+)\.ts$/.exec(output.entryPoint ?? '');
    if (!match || !key.endsWith('.js')) continue;
    views[match[1]] = [`/assets/${key.slice(assetsDir.length)}`, ...staticImportUrls(output).filter((url) => !mainImports.includes(url))];
  }
  if (views[FIRST_VIEW]) throw new Error(`build failed: ${FIRST_VIEW} must be imported statically (the start page), not with import()`);
  const indexFile = path.join(out, 'index.html');
  const html = fs.readFileSync(indexFile, 'utf8');
  const tag = '    <script type="module" src="/assets/main.js"></script>';
  if (!html.includes(tag)) throw new Error('build failed: panel/public/index.html must load /assets/main.js with a module script');
  if (bootScript.includes('</')) throw new Error('build failed: the boot script cannot be inlined: it holds "</"');
  const links = mainImports.map((url) => `    <link rel="modulepreload" href="${url}">`);
  const viewMap = `    <script type="application/json" id="view-chunks">${JSON.stringify(views)}</script>`;
  // Parser-blocking on purpose: it must run before the modules (it spends the stored refresh token
  // the auth store would otherwise spend). Inline and first, so its refresh leaves before the modules
  // are asked for (the hub serves its CSP with this script's hash).
  fs.writeFileSync(indexFile, html.replace(tag, [`    <script>${bootScript}</script>`, ...links, viewMap, tag].join('\n')));
}

if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);

fs.mkdirSync(dist, { recursive: true });
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
buildNodeEditors();
await buildPanel();
fs.writeFileSync(stamp, new Date().toISOString() + '\n');
console.log('build: done');
