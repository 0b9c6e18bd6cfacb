import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AudioJob, AudioJobResult, EncodedAudio } from './audio-protocol';
import { SpeechError, type SpeechErrorCode } from './speech-error';

type JobInput = AudioJob extends infer J ? (J extends AudioJob ? Omit<J, 'id'> : never) : never;

interface Pending {
  resolve: (result: EncodedAudio) => void;
  reject: (error: Error) => void;
}

/**
 * The one worker thread of the speech service, started on the first job
 * (a hub that never speaks never loads eSpeak-NG) and kept for the next;
 * `stop()` terminates it. While no job is pending the thread does not keep
 * the process alive. A worker that dies fails its pending jobs; the next
 * job starts a new one.
 */
export class AudioWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;

  constructor(private readonly script = path.join(__dirname, 'audio-worker.js')) {}

  /** `idle` before the first job, `running` while the thread exists, `stopped` after stop(). */
  get state(): 'idle' | 'running' | 'stopped' {
    if (this.stopped) return 'stopped';
    return this.worker ? 'running' : 'idle';
  }

  run(job: JobInput): Promise<EncodedAudio> {
    if (this.stopped) return Promise.reject(new SpeechError('stopped', 'the speech service has stopped'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<EncodedAudio>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      const transfer = job.op === 'encode' ? [job.pcm.buffer as ArrayBuffer] : [];
      worker.postMessage({ ...job, id }, transfer);
    });
  }

  /** Terminates the thread; pending jobs fail with `stopped`. */
  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new SpeechError('stopped', 'the speech service has stopped'));
    if (worker) await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.script);
    worker.unref();
    worker.on('message', (result: AudioJobResult) => {
      const entry = this.pending.get(result.id);
      if (!entry) return;
      this.pending.delete(result.id);
      if (this.pending.size === 0) worker.unref();
      if (result.ok) entry.resolve(result);
      else entry.reject(new SpeechError(result.code as SpeechErrorCode, result.message));
    });
    const lost = (reason: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(new SpeechError('engine_unavailable', `the speech worker ${reason}`));
    };
    worker.on('error', (error) => lost(`failed: ${error.message}`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private failAll(error: SpeechError): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(error);
  }
}
