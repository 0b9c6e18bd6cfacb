#!/usr/bin/env node
// Regenerates assets/chime.mp3, the short chime an announcement may start with (`chime: true`):
// two soft bell notes (E6 then C6, "ding-dong") with a quick attack and an exponential decay,
// 1.2 s, mono 22050 Hz, encoded at 32 kb/s CBR. The tone is computed here (no recording, no
// licence to track); the MP3 encoding is the hub's own (server/tts/mp3.ts: run `node
// scripts/build.mjs` first). The hub only reads the committed file, so this script is not needed at run time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const { encodeMp3 } = createRequire(import.meta.url)('../dist/server/tts/mp3.js');

const rate = 22050;
const seconds = 1.2;
const notes = [
  { start: 0, hz: 1318.51 },
  { start: 0.45, hz: 1046.5 },
];
const samples = new Int16Array(Math.round(rate * seconds));
for (let i = 0; i < samples.length; i++) {
  const t = i / rate;
  let value = 0;
  for (const note of notes) {
    const local = t - note.start;
    if (local < 0) continue;
    const envelope = Math.min(1, local / 0.005) * Math.exp(-local * 4.5);
    // A bell: the fundamental plus a quieter, faster-fading overtone.
    value += envelope * (Math.sin(2 * Math.PI * note.hz * local) + 0.3 * Math.exp(-local * 6) * Math.sin(2 * Math.PI * note.hz * 2.76 * local));
  }
  const fadeOut = Math.min(1, (seconds - t) / 0.05);
  samples[i] = Math.round(Math.max(-1, Math.min(1, value * 0.45 * fadeOut)) * 32767);
}

const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'assets', 'chime.mp3');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, await encodeMp3(samples, rate, 1, 32));
console.log(`${out}: ${fs.statSync(out).size} bytes`);
