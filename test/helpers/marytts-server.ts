import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ESpeakNGWorker } from '@echogarden/espeak-ng-emscripten';
import { wavFile } from '../library/media';

/** One /process request as the server saw it. */
export interface MaryRequest {
  method: string;
  params: Record<string, string>;
}

/**
 * A small HTTP server speaking the MaryTTS protocol (`GET /process?INPUT_TEXT=
 * ...&LOCALE=..&VOICE=..` answering audio/x-wav, plus /voices and /locales) the
 * way OpenTTS, Larynx and Coqui's server do. It speaks with eSpeak-NG (the
 * same WebAssembly build the hub uses), so the WAV it sends is real speech.
 * `answer` lets a test make it fail (a status and body) instead.
 */
export class MaryTtsServer {
  readonly requests: MaryRequest[] = [];
  /** When set, /process answers this instead of speech. */
  answer: { status: number; contentType: string; body: string | Buffer } | undefined;
  private readonly server = http.createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    });
  });
  private espeak: Promise<ESpeakNGWorker> | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/voices') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('espeak-en en_GB m\nespeak-de de f\n');
      return;
    }
    if (url.pathname === '/locales') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('en_GB\nde\n');
      return;
    }
    if (url.pathname !== '/process') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    this.requests.push({ method: req.method ?? 'GET', params: Object.fromEntries(url.searchParams) });
    if (this.answer) {
      res.writeHead(this.answer.status, { 'content-type': this.answer.contentType }).end(this.answer.body);
      return;
    }
    const text = url.searchParams.get('INPUT_TEXT') ?? '';
    if (text === '') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Expected parameter INPUT_TEXT not found');
      return;
    }
    const voice = url.searchParams.get('VOICE') === 'espeak-de' ? 'de' : 'en';
    const { samples, sampleRate } = await this.speak(text, voice);
    res.writeHead(200, { 'content-type': 'audio/x-wav' }).end(wavFile(samples.length / sampleRate, sampleRate, (i) => samples[i] ?? 0));
  }

  private async speak(text: string, voice: string): Promise<{ samples: Int16Array; sampleRate: number }> {
    this.espeak ??= import('@echogarden/espeak-ng-emscripten').then(async ({ default: initialize }) => new (await initialize()).eSpeakNGWorker());
    const engine = await this.espeak;
    engine.set_voice(voice);
    const chunks: Int16Array[] = [];
    engine.synthesize(text, (samples) => {
      if (samples) chunks.push(samples.slice());
    });
    const samples = new Int16Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      samples.set(chunk, offset);
      offset += chunk.length;
    }
    return { samples, sampleRate: engine.get_samplerate() };
  }
}
