import { spawn, type ChildProcess } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './free-port';

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export function mosquittoBinary(): string {
  const found = CANDIDATES.find((candidate) => fs.existsSync(candidate));
  if (!found) {
    throw new Error('mosquitto is not installed: run "sudo apt-get install mosquitto" (npm test installs it when run as root)');
  }
  return found;
}

/** A real Mosquitto broker on a free loopback port, with a throwaway config. */
export class MosquittoBroker {
  private child: ChildProcess | undefined;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-mosquitto-'));

  private constructor(
    private listenPort: number,
    private readonly access: readonly string[],
  ) {}

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a broker on a port that was free a moment ago. Another process (or a server in
   * this one) can take that port before Mosquitto binds it, so a bind failure picks a new port.
   * `access`: the configuration lines about who may connect and what (default `allow_anonymous
   * true`), e.g. `allow_anonymous false`, `password_file ...`, `acl_file ...`.
   */
  static async start(access: readonly string[] = ['allow_anonymous true']): Promise<MosquittoBroker> {
    const broker = new MosquittoBroker(await freePort(), access);
    for (let attempt = 1; ; attempt++) {
      try {
        await broker.launch();
        return broker;
      } catch (error) {
        if (attempt >= 5 || !/Address already in use/.test((error as Error).message)) {
          fs.rmSync(broker.dir, { recursive: true, force: true });
          throw error;
        }
        broker.listenPort = await freePort();
      }
    }
  }

  /** Kills the broker (SIGKILL: no goodbye to clients) and starts it again on the same port. */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.launch();
  }

  /**
   * Stops the broker's process without ending it (SIGSTOP): it keeps its connections open but reads
   * nothing more from them, as a hung broker or a swapping Raspberry Pi would. resume() goes on.
   */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // A paused broker would not act on SIGTERM until it went on.
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  }

  async launch(): Promise<void> {
    const config = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(
      config,
      [
        `listener ${this.listenPort} 127.0.0.1`,
        ...this.access,
        'persistence false',
        'set_tcp_nodelay true',
        // No per-client queue limit (default 1000): a subscriber that falls behind a burst
        // (the benches publish 20,000 messages at once) must get every QoS 1 message, not lose some.
        'max_queued_messages 0',
        // stderr, not stdout: Mosquitto block-buffers stdout when it is a pipe,
        // so the "running" line would only arrive when the broker exits.
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        '',
      ].join('\n'),
    );
    const child = spawn(mosquittoBinary(), ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        // Mosquitto says it is running once its listener is open.
        if (/mosquitto version \S+ running/.test(output)) {
          child.stderr?.off('data', onData);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void => reject(new Error(`mosquitto exited (${code}) before it was ready:\n${output}`));
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
    // Keep draining its output so the pipe never fills.
    child.stderr?.resume();
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Mosquitto 2 password_file line (`user:$7$<iterations>$<salt>$<hash>`: PBKDF2-SHA512, as
 * mosquitto_passwd writes it), so tests need no mosquitto_passwd binary.
 */
export function mosquittoPasswordLine(username: string, password: string): string {
  const iterations = 101;
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `${username}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}
