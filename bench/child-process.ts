/**
 * The bench's child processes (publishers, the fleet's hub, clients and Yoto cloud) answer commands
 * over IPC, one at a time: `{type: ...}` replies, `{type: 'error', message}` when a command failed.
 */
import type { ChildProcess } from 'node:child_process';

/** Sends `command` and answers the child's reply; rejects on an error reply or when the child exits first. */
export function askChild<T>(child: ChildProcess, command: object, name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: { type: string; message?: string }): void => {
      child.off('exit', onExit);
      if (answer.type === 'error') reject(new Error(`${name}: ${answer.message}`));
      else resolve(answer as T);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`${name} exited with ${code}`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
    child.send(command);
  });
}

/** Asks a child that is still running and connected to end (`ask`), and resolves once it has exited. */
export async function endChild(child: ChildProcess, ask: () => unknown): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.connected) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await ask();
  await exited;
}
