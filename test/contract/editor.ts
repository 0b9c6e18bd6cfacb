import { expect } from 'chai';
import WebSocket from 'ws';

/** A node's status as the editor draws it under the node. */
export interface NodeStatusView {
  text?: string;
  fill?: string;
  shape?: string;
}

/** A message in the editor's Debug sidebar. */
export interface DebugView {
  /** The debug node that printed it. */
  id: string;
  name?: string;
  topic?: string;
  /** What the sidebar shows, as the editor receives it (JSON text for objects). */
  msg: string;
  format?: string;
}

interface CommsMessage {
  topic: string;
  data: unknown;
}

/**
 * What a newcomer sees in the Node-RED editor, through the editor's own channels: the comms
 * WebSocket that carries node statuses and the Debug sidebar, and the inject buttons (POST
 * /inject/:id, what a click on the button does).
 */
export class EditorView {
  readonly statuses = new Map<string, NodeStatusView[]>();
  readonly debug: DebugView[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly url: string,
    private readonly socket: WebSocket,
  ) {
    socket.on('message', (data: WebSocket.RawData) => {
      const parsed: unknown = JSON.parse(String(data));
      for (const message of (Array.isArray(parsed) ? parsed : [parsed]) as CommsMessage[]) {
        if (typeof message.topic !== 'string') continue;
        if (message.topic.startsWith('status/')) {
          const id = message.topic.slice('status/'.length);
          const list = this.statuses.get(id) ?? [];
          list.push(message.data as NodeStatusView);
          this.statuses.set(id, list);
        } else if (message.topic === 'debug') {
          this.debug.push(message.data as DebugView);
        }
      }
      for (const listener of [...this.listeners]) listener();
    });
  }

  static async open(nodeRedUrl: string): Promise<EditorView> {
    const socket = new WebSocket(`${nodeRedUrl.replace(/^http/, 'ws')}/comms`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const view = new EditorView(nodeRedUrl, socket);
    socket.send(JSON.stringify({ subscribe: 'status/#' }));
    socket.send(JSON.stringify({ subscribe: 'debug' }));
    return view;
  }

  close(): void {
    this.socket.close();
  }

  /** The status the node shows now. */
  status(nodeId: string): NodeStatusView | undefined {
    const list = this.statuses.get(nodeId);
    return list?.[list.length - 1];
  }

  /** Resolves once `check` holds, re-checked at every status or debug message; rejects after the test's own timeout. */
  until<T>(check: () => T | undefined | false): Promise<T> {
    return new Promise((resolve) => {
      const attempt = (): boolean => {
        const found = check();
        if (found === undefined || found === false) return false;
        this.listeners.delete(attempt);
        resolve(found);
        return true;
      };
      if (!attempt()) this.listeners.add(attempt);
    });
  }

  /** Resolves with the first status of the node (from now on, or already shown) that matches. */
  statusWhen(nodeId: string, match: (status: NodeStatusView) => boolean, from = 0): Promise<NodeStatusView> {
    return this.until(() => (this.statuses.get(nodeId) ?? []).slice(from).find(match));
  }

  /** Resolves with the first debug message of the node, from index `from` of the sidebar on, that matches. */
  debugWhen(nodeId: string, match: (entry: DebugView) => boolean = () => true, from = 0): Promise<DebugView> {
    return this.until(() => this.debug.slice(from).find((entry) => entry.id === nodeId && match(entry)));
  }

  /** Clicks the button of an inject node. */
  async click(injectId: string): Promise<void> {
    const response = await fetch(`${this.url}/inject/${injectId}`, { method: 'POST' });
    expect(response.status, `the button of ${injectId} works`).to.equal(200);
  }
}

/** A debug message's content as JSON (the sidebar receives objects as JSON text). */
export function debugJson(entry: DebugView): Record<string, unknown> {
  return JSON.parse(entry.msg) as Record<string, unknown>;
}
