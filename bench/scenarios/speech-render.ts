/**
 * Text to speech: how long the hub takes to turn a sentence into a player URL
 * with the default engine (eSpeak-NG in the speech worker, MP3 encoding
 * included), uncached against cached, the first render of a hub (which starts
 * the worker and loads the WebAssembly) apart; the time for a player's stream
 * request of the result; and the longest the hub's event loop was held while
 * rendering (the design bar: about 100 ms at most, synthesis runs in a worker).
 * Run alone: node dist/bench/scenarios/speech-render.js
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { percentile, round } from '../measure';
import { runWhenMain, type BenchResult } from '../bench-result';
import { startTestHub, stopTestHub } from '../../test/helpers/test-hub';

const UNCACHED = 8;
const CACHED = 200;
const STREAMS = 50;
const sentence = (n: number): string => `Dinner is ready. Please wash your hands and come to the table, number ${n}.`;

function median(samples: number[]): number {
  return percentile([...samples].sort((a, b) => a - b), 50);
}

export async function run(): Promise<BenchResult> {
  const hub = await startTestHub();
  try {
    const coldLoop = monitorEventLoopDelay({ resolution: 5 });
    coldLoop.enable();
    let began = performance.now();
    const first = await hub.speech.render({ text: sentence(0) });
    const coldMs = performance.now() - began;
    coldLoop.disable();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const uncached: number[] = [];
    for (let i = 1; i <= UNCACHED; i++) {
      began = performance.now();
      await hub.speech.render({ text: sentence(i) });
      uncached.push(performance.now() - began);
    }
    loop.disable();
    const cached: number[] = [];
    for (let i = 0; i < CACHED; i++) {
      began = performance.now();
      const again = await hub.speech.render({ text: sentence(i % (UNCACHED + 1)) });
      cached.push(performance.now() - began);
      if (!again.cached) throw new Error('expected a cached render');
    }
    const streams: number[] = [];
    for (let i = 0; i < STREAMS; i++) {
      began = performance.now();
      const res = await fetch(first.url);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`stream answered ${res.status}`);
      streams.push(performance.now() - began);
    }
    const uncachedMs = median(uncached);
    const cachedMs = median(cached);
    return {
      name: 'speech-render',
      description: `Render a ${sentence(0).length}-character sentence (${round(first.durationMs / 1000, 1)} s of speech) to a signed player URL with the espeak engine: first render of a hub (worker start), uncached (median of ${UNCACHED}), cached (median of ${CACHED}); a player's GET of the MP3 (median of ${STREAMS}); the event loop's longest delay while rendering (warm worker, and during the first render)`,
      results: {
        firstRenderMs: round(coldMs, 1),
        uncachedRenderMs: round(uncachedMs, 1),
        uncachedRenderP100Ms: round(Math.max(...uncached), 1),
        cachedRenderMs: round(cachedMs, 3),
        streamRequestMs: round(median(streams), 2),
        speechSeconds: round(first.durationMs / 1000, 2),
        eventLoopMaxDelayMs: round(loop.max / 1e6, 1),
        eventLoopMaxDelayFirstRenderMs: round(coldLoop.max / 1e6, 1),
      },
      ratios: {
        uncachedOverCached: round(uncachedMs / cachedMs, 0),
        renderRealTimeFactor: round(uncachedMs / first.durationMs, 3),
      },
      notes: ['renderRealTimeFactor: render time over speech length (below 1: faster than real time)'],
    };
  } finally {
    await stopTestHub(hub);
  }
}

runWhenMain(module, run);
