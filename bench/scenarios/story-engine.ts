/**
 * Story engine: validate and compile (card, flow, Twee) stories of 100, 1,000
 * and 10,000 nodes. The validator and compilers must be linear in nodes +
 * connections: the growth ratios (time per node at 10,000 over time per node
 * at 100) should stay near 1.
 * Run alone: node dist/bench/scenarios/story-engine.js
 */
import { performance } from 'node:perf_hooks';
import { compileToCard, compileToFlow, toTwee, validateStory, type Story } from '../../server/stories';
import type { BenchResult } from '../bench-result';

const SIZES = [100, 1_000, 10_000] as const;
const REPEATS = 5;

/** A binary-ish story: node i branches to 2i+1 and 2i+2, deeper nodes loop back; the last half are endings. */
function makeStory(n: number): Story {
  const nodes: Story['nodes'] = [];
  const connections: Story['connections'] = [];
  for (let i = 0; i < n; i++) {
    const left = 2 * i + 1;
    const right = 2 * i + 2;
    const leaf = left >= n;
    nodes.push({ id: `n${i}`, title: `Passage ${i}`, audioFileId: `a${i}`, position: { x: i * 10, y: 0 }, ...(leaf ? { ending: true } : {}) });
    if (!leaf) connections.push({ id: `c${i}l`, from: `n${i}`, to: `n${left}`, choice: 'left' });
    if (right < n) connections.push({ id: `c${i}r`, from: `n${i}`, to: `n${right}`, choice: 'right' });
    if (i > 0 && i % 7 === 0) connections.push({ id: `c${i}d`, from: `n${i}`, to: `n${Math.floor(i / 3)}`, choice: 'default', timeoutSeconds: 20 });
  }
  return { id: `bench-${n}`, userId: 'u', title: `Bench ${n}`, startNodeId: 'n0', nodes, connections, createdAt: '2026-01-10T08:15:32.000Z', updatedAt: '2026-01-10T08:15:32.000Z' };
}

function best(body: () => void): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    body();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

export async function run(): Promise<BenchResult> {
  const results: Record<string, number> = {};
  const perNode: Record<string, Record<number, number>> = { validate: {}, card: {}, flow: {}, twee: {} };
  for (const n of SIZES) {
    const story = makeStory(n);
    const times = {
      validate: best(() => validateStory(story, { audioExists: () => true })),
      card: best(() => compileToCard(story, { trackUrl: (node) => `https://hub.example.com/s/${node.id}` })),
      flow: best(() => compileToFlow(story, { hubId: 'hub', deviceId: 'dev' })),
      twee: best(() => toTwee(story)),
    };
    for (const [what, ms] of Object.entries(times)) {
      results[`${what}Ms_${n}`] = Number(ms.toFixed(3));
      perNode[what]![n] = ms / n;
    }
  }
  const ratios: Record<string, number> = {};
  for (const what of Object.keys(perNode)) {
    ratios[`${what}PerNodeGrowth_100_to_10000`] = Number((perNode[what]![10_000]! / perNode[what]![100]!).toFixed(2));
    ratios[`${what}PerNodeGrowth_1000_to_10000`] = Number((perNode[what]![10_000]! / perNode[what]![1_000]!).toFixed(2));
  }
  return {
    name: 'story-engine',
    description: `Validate a story and compile it to a Yoto card, a Node-RED flow and Twee, at ${SIZES.join(', ')} nodes (best of ${REPEATS}).`,
    results,
    ratios,
    notes: [
      'A growth ratio is (time per node at 10,000) / (time per node at the smaller size): about 1 means linear; 100 would mean quadratic.',
      'Small sizes carry fixed costs and JIT warm-up, so ratios below 1 are common.',
    ],
  };
}

if (require.main === module) {
  void run().then((result) => console.log(JSON.stringify(result, null, 2)));
}
