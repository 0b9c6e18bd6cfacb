/** What a bench scenario reports; bench/run.ts adds the machine and writes it to bench/results/<name>.json. */
export interface BenchResult {
  name: string;
  description: string;
  results: Record<string, number | string>;
  ratios: Record<string, number>;
  notes?: string[];
}

/** Lets a scenario file run alone (`node dist/bench/scenarios/<name>.js`): prints its result as JSON. */
export function runWhenMain(scenarioModule: NodeJS.Module, run: () => Promise<BenchResult>): void {
  if (require.main !== scenarioModule) return;
  run()
    .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
