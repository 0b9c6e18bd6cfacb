#!/usr/bin/env node
// Regenerates assets/chime.mp3, the short chime an announcement may start with (`chime: true`):
// two soft bell notes (E6 then C6, "ding-dong") with a quick attack and an exponential decay,
// 1.2 s, mono 22050 Hz, encoded at 32 kb/s CBR. The tone is computed here (no recording, no
// licence to track); the MP3 encoding needs the `lame` command (Debian: apt-get install lame).
// The hub only reads the committed file, so neither this script nor lame is needed at run time.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

const header = Buffer.alloc(44);
header.write('RIFF', 0);
header.writeUInt32LE(36 + samples.byteLength, 4);
header.write('WAVEfmt ', 8);
header.writeUInt32LE(16, 16);
header.writeUInt16LE(1, 20);
header.writeUInt16LE(1, 22);
header.writeUInt32LE(rate, 24);
header.writeUInt32LE(rate * 2, 28);
header.writeUInt16LE(2, 32);
header.writeUInt16LE(16, 34);
header.write('data', 36);
header.writeUInt32LE(samples.byteLength, 40);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chime-'));
try {
  const wav = path.join(work, 'chime.wav');
  fs.writeFileSync(wav, Buffer.concat([header, Buffer.from(samples.buffer)]));
  const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'assets', 'chime.mp3');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('lame', ['--quiet', '-m', 'm', '-b', '32', '--cbr', '-t', wav, out]);
  console.log(`${out}: ${fs.statSync(out).size} bytes`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
