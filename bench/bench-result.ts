/** What a bench scenario reports; bench/run.ts adds the machine and writes it to bench/results/<name>.json. */
export interface BenchResult {
  name: string;
  description: string;
  results: Record<string, number | string>;
  ratios: Record<string, number>;
  notes?: string[];
}
