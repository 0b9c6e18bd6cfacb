/**
 * Announcements: the time from the announcement message on the home broker
 * (yoto/broadcast/announcements, published by the house) to the player's
 * stream request for it (the hub's streams answered it: the `served` event),
 * for a sentence already in the speech cache, a sentence never said before
 * (rendered by the offline espeak engine first) and a library file, on the
 * composed hub with a virtual player. Each round waits for the player to be
 * back where it was before the next one.
 * Run alone: node dist/bench/scenarios/announcement-latency.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { resolveHubOptions } from '../../server/config/hub-options';
import { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import { packageRoot } from '../../server/paths';
import type { StreamServed } from '../../server/streams';
import { percentile, round } from '../measure';
import { runWhenMain, type BenchResult } from '../bench-result';

const KIDS = 'vkids0bedroom0yoto0mini0';
const ROUNDS = 5;
const HOUSE = { email: 'bench-house@example.org', password: 'correct horse battery staple' };

type Case = 'speechCached' | 'speechUncached' | 'libraryFile';

export async function run(): Promise<BenchResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-bench-announce-'));
  const hub = new Hub(resolveHubOptions({ httpPort: 0, embeddedBrokerPort: 0, virtualCloudPort: 0, signInPort: 0 }, dataDir, {}), { logger: silentLogger, env: {} });
  await hub.start();
  const house = await (async () => {
    await hub.broker.whenConnected();
    await hub.accounts.ensureAdmin({ ...HOUSE, name: 'House' });
    return mqtt.connectAsync(hub.broker.url, { username: HOUSE.email, password: HOUSE.password });
  })();
  try {
    await whenOnline(hub, KIDS);
    // Night mode refuses normal announcements: the player is in day mode whatever the time of day.
    await hub.settings.update(KIDS, { dayTime: '00:00', nightTime: '23:59' });
    await until(hub, () => hub.devices.get(KIDS)?.dayMode === 'day');
    const upload = new FormData();
    upload.append('file', new Blob([fs.readFileSync(path.join(packageRoot, 'demo-content', 'audio', 'SolveRiddle.mp3'))]), 'doorbell.mp3');
    const login = (await (await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(HOUSE) })).json()) as { accessToken: string };
    const file = (await (await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${login.accessToken}` }, body: upload })).json()) as { id: string };

    const timings: Record<Case, number[]> = { speechCached: [], speechUncached: [], libraryFile: [] };
    const once = async (which: Case, request: Record<string, unknown>, kind: StreamServed['kind']): Promise<void> => {
      const served = new Promise<number>((resolve) => {
        const onServed = (event: StreamServed): void => {
          if (event.kind !== kind || event.status >= 400) return;
          hub.streams.events.off('served', onServed);
          resolve(performance.now());
        };
        hub.streams.events.on('served', onServed);
      });
      const finished = nextEvent(hub, 'announcement_finished');
      const began = performance.now();
      await house.publishAsync('yoto/broadcast/announcements', JSON.stringify({ ...request, device_ids: [KIDS] }), { qos: 1 });
      timings[which].push((await served) - began);
      await finished;
    };
    // Warm up: the speech worker starts on its first render, the player's first stream.
    await once('speechCached', { text: 'Dinner is ready' }, 'speech');
    timings.speechCached.length = 0;
    for (let i = 0; i < ROUNDS; i++) {
      await once('speechCached', { text: 'Dinner is ready' }, 'speech');
      await once('speechUncached', { text: `Announcement number ${i + 1}: the washing machine has finished, ${Date.now().toString(36)}` }, 'speech');
      await once('libraryFile', { audio_file_id: file.id }, 'audio');
    }
    const results: Record<string, number> = {};
    for (const [name, values] of Object.entries(timings)) {
      const sorted = [...values].sort((a, b) => a - b);
      results[`${name}MedianMs`] = round(percentile(sorted, 50), 1);
      results[`${name}MaxMs`] = round(sorted[sorted.length - 1] ?? 0, 1);
    }
    return {
      name: 'announcement-latency',
      description: 'yoto/broadcast/announcements message -> the player\'s stream request answered, for a cached sentence, an uncached sentence (espeak render first) and a library file',
      results: { ...results, rounds: ROUNDS },
      ratios: {
        uncachedOverCached: round((results['speechUncachedMedianMs'] ?? 0) / Math.max(1, results['speechCachedMedianMs'] ?? 1), 2),
        cachedOverLibraryFile: round((results['speechCachedMedianMs'] ?? 0) / Math.max(1, results['libraryFileMedianMs'] ?? 1), 2),
      },
      notes: [
        'Each round: the house publishes on the embedded broker; the hub renders (or finds) the speech, saves the announcement card on the virtual cloud, snapshots the player, sets it playing; the virtual player fetches the stream. Measured until the hub\'s streams answered that fetch.',
        'The player is back where it was (announcement_finished) before the next round.',
      ],
    };
  } finally {
    await house.endAsync();
    await hub.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function nextEvent(hub: Hub, type: string): Promise<void> {
  return new Promise((resolve) => {
    const owner = {};
    hub.devices.bus.on(owner, 'event', (event) => {
      if (event.deviceId !== KIDS || event.type !== type) return;
      hub.devices.bus.off(owner);
      resolve();
    });
  });
}

function until(hub: Hub, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const owner = {};
    hub.devices.bus.on(owner, 'state', () => {
      if (!check()) return;
      hub.devices.bus.off(owner);
      resolve();
    });
  });
}

function whenOnline(hub: Hub, deviceId: string): Promise<void> {
  return until(hub, () => hub.devices.get(deviceId)?.online === true);
}

runWhenMain(module, run);
