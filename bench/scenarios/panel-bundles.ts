/**
 * Panel bundle sizes: every JavaScript file esbuild wrote to dist/panel/assets,
 * raw and gzipped, and the initial load (main.js plus the chunks it imports
 * statically, transitively, and the boot script inline in index.html). The start page (the
 * Dashboard) is in main.js's chunk; the other views are dynamic import()s, loaded on first visit.
 * The bar: initial JavaScript under 100 KB gzipped.
 * Run alone (after a build): node dist/bench/scenarios/panel-bundles.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../../server/paths';

import type { BenchResult } from '../bench-result';

export const PANEL_ASSETS = path.join(packageRoot, 'dist', 'panel', 'assets');
export const INITIAL_GZIP_BUDGET_BYTES = 100 * 1024;

export interface BundleSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

function jsFiles(dir: string, base = dir): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...jsFiles(full, base));
    else if (entry.name.endsWith('.js')) files.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return files.sort();
}

/** Static `import ... from "./x.js"` / `import "./x.js"` of a minified ES module (not `import("./x.js")`). */
export function staticImports(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|[;}\n])\s*import\s*(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*\s*as\s*[\w$]+)?\s*(?:from\s*)?["']([^"']+)["']/g;
  for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

export function measureBundles(assets = PANEL_ASSETS): { bundles: BundleSize[]; initial: string[]; initialBytes: number; initialGzipBytes: number } {
  if (!fs.existsSync(path.join(assets, 'main.js'))) throw new Error(`no panel build in ${assets}: run "node scripts/build.mjs" first`);
  const bundles = jsFiles(assets).map((file) => {
    const content = fs.readFileSync(path.join(assets, file));
    return { file, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
  });
  const byFile = new Map(bundles.map((bundle) => [bundle.file, bundle]));
  const initial = new Set<string>();
  const visit = (file: string): void => {
    if (initial.has(file)) return;
    initial.add(file);
    const source = fs.readFileSync(path.join(assets, file), 'utf8');
    for (const specifier of staticImports(source)) {
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      if (byFile.has(resolved)) visit(resolved);
    }
  };
  visit('main.js');
  const initialBundles = [...initial].map((file) => byFile.get(file)!);
  // The boot script index.html holds inline and runs before the modules (the stored session's refresh and the WebSocket).
  const page = path.join(assets, '..', 'index.html');
  const boot = fs.existsSync(page) ? /<script>([^<]+)<\/script>/.exec(fs.readFileSync(page, 'utf8'))?.[1] : undefined;
  if (boot !== undefined) {
    const content = Buffer.from(boot, 'utf8');
    initial.add('index.html (boot script)');
    initialBundles.push({ file: 'index.html (boot script)', bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length });
  }
  return {
    bundles,
    initial: [...initial],
    initialBytes: initialBundles.reduce((sum, bundle) => sum + bundle.bytes, 0),
    // Each file is its own request, gzipped on its own: the sum is what the browser downloads.
    initialGzipBytes: initialBundles.reduce((sum, bundle) => sum + bundle.gzipBytes, 0),
  };
}

export async function run(): Promise<BenchResult> {
  const measured = measureBundles();
  const results: Record<string, number | string> = {
    initialFiles: measured.initial.join(' '),
    initialBytes: measured.initialBytes,
    initialGzipBytes: measured.initialGzipBytes,
    totalGzipBytes: measured.bundles.reduce((sum, bundle) => sum + bundle.gzipBytes, 0),
    bundleCount: measured.bundles.length,
  };
  for (const bundle of measured.bundles) {
    // View chunks are keyed by their name without the content hash, so results compare across builds; shared chunks keep their hash.
    const name = path.posix.basename(bundle.file, '.js');
    const key = name.startsWith('chunk-') ? name : name.replace(/-[A-Z0-9]{8}$/, '');
    results[`${key}GzipBytes`] = bundle.gzipBytes;
  }
  return {
    name: 'panel-bundles',
    description: 'Gzipped size (level 9) of each panel bundle in dist/panel/assets, and of the initial load: main.js with the chunks it imports statically.',
    results,
    ratios: {
      initialGzipOverBudget: Number((measured.initialGzipBytes / INITIAL_GZIP_BUDGET_BYTES).toFixed(3)),
    },
    notes: [
      `Budget: initial JavaScript under ${INITIAL_GZIP_BUDGET_BYTES / 1024} KB gzipped; the shell and the Dashboard (the start page) are one chunk, every other view is a dynamic import() loaded on first visit.`,
      'Sizes are measured on the minified esbuild output; the hub serves files as they are (compression, if any, is up to a proxy).',
    ],
  };
}

if (require.main === module) {
  run()
    .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
