import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** A hub running in a child process (test/helpers/hub-process-main.ts), configured by `env`. */
export class HubProcess {
  private output = '';

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Forks the hub and resolves once it serves; rejects with its output if it exits first. */
  static async start(name: string, env: NodeJS.ProcessEnv): Promise<HubProcess> {
    const child = fork(path.join(__dirname, 'hub-process-main.js'), [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const url = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null): void => reject(new Error(`hub ${name} exited (${code ?? signal}) before it was ready:\n${output}`));
      child.once('exit', onExit);
      child.once('message', (message: { type?: string; url?: string }) => {
        child.off('exit', onExit);
        if (message.type === 'ready' && message.url) resolve(message.url);
        else reject(new Error(`hub ${name} said ${JSON.stringify(message)}`));
      });
    });
    const hub = new HubProcess(name, child, url);
    hub.output = output;
    child.stdout?.on('data', (chunk: Buffer) => (hub.output = (hub.output + chunk.toString()).slice(-20_000)));
    child.stderr?.on('data', (chunk: Buffer) => (hub.output = (hub.output + chunk.toString()).slice(-20_000)));
    return hub;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the hub wrote (the last 20 kB), for a failing test's message. */
  get log(): string {
    return this.output;
  }

  /** SIGKILL: the hub gets no chance to release anything (its lease runs out by itself). */
  async kill(): Promise<void> {
    await this.end(() => this.child.kill('SIGKILL'));
  }

  /** Stops the hub the way an orchestrator does (it releases its lease and every connection). */
  async stop(): Promise<void> {
    await this.end(() => this.child.send({ type: 'stop' }));
  }

  private async end(signal: () => void): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    signal();
    await exited;
  }
}
