/**
 * npm run bench: runs the scenarios in bench/scenarios (all, or those named on
 * the command line: `npm run bench -- <name> ...`) one after another and writes
 * each result as JSON to bench/results/<scenario>.json with the machine it ran
 * on: Node, core count, and the load average when it started and ended.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../server/paths';

import type { BenchResult } from './bench-result';
import { loadAverage, machineAtStart } from './machine';

interface Scenario {
  run(): Promise<BenchResult>;
}

const scenariosDir = path.join(__dirname, 'scenarios');
const resultsDir = path.join(packageRoot, 'bench', 'results');

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const files = fs.readdirSync(scenariosDir).filter((f) => f.endsWith('.js')).sort();
  const chosen = wanted.length ? files.filter((f) => wanted.includes(path.basename(f, '.js'))) : files;
  if (wanted.length && chosen.length !== wanted.length) {
    throw new Error(`unknown scenario; available: ${files.map((f) => path.basename(f, '.js')).join(', ')}`);
  }
  fs.mkdirSync(resultsDir, { recursive: true });
  for (const file of chosen) {
    const name = path.basename(file, '.js');
    process.stdout.write(`bench: ${name} ...\n`);
    const scenario = (await import(path.join(scenariosDir, file))) as Scenario;
    const atStart = machineAtStart();
    const result = await scenario.run();
    const record = {
      ...result,
      machine: { ...atStart, loadAtEnd: loadAverage() },
      finishedAt: new Date().toISOString(),
    };
    const out = path.join(resultsDir, `${name}.json`);
    fs.writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
    process.stdout.write(`${JSON.stringify({ name, ratios: result.ratios, results: result.results, machine: record.machine })}\n  -> ${path.relative(packageRoot, out)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
