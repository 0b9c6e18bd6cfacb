import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { Express } from 'express';
import type { Node, NodeRedApp } from 'node-red';
import { linkPackage } from '../../scripts/link-package';
import { freePort } from './free-port';
import { nodeRedRuntimePath } from './node-red';

/** A real Node-RED runtime and editor in this process, with this package installed in its user directory. */
export interface EmbeddedNodeRed {
  RED: NodeRedApp;
  server: http.Server;
  url: string;
}

/** A node of a flow as the admin API takes it. */
export type FlowConfig = { id: string; type: string } & Record<string, unknown>;

/**
 * Starts the real Node-RED runtime and editor, embedded as scripts/start.ts does it: an
 * Express app of Node-RED's own Express, RED.init on its HTTP server, the admin and node
 * apps mounted at /. This package is linked into `userDir` (as `npm install <checkout>`
 * would), so Node-RED loads its nodes from package.json as a user's does. The runtime is
 * the one NODE_RED_PATH selects (Node-RED 5 in npm run test:nr5), else the node-red
 * devDependency. Unlike node-red-node-test-helper, nothing wraps the runtime's nodes (the
 * helper spies on every node's send, log and status, recording each call).
 * `settings` adds to or replaces the defaults below.
 */
export async function startNodeRed(userDir: string, settings: Record<string, unknown> = {}): Promise<EmbeddedNodeRed> {
  linkPackage(userDir);
  const runtimePath = nodeRedRuntimePath();
  // lib/red.js of the chosen Node-RED; @types/node-red describes its API.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require(runtimePath) as NodeRedApp;
  const nodeRedExpress = createRequire(runtimePath)('express') as () => Express;
  const app = nodeRedExpress();
  const server = http.createServer(app);
  const port = await freePort();
  const all = {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: 'embedded-node-red',
    uiHost: '127.0.0.1',
    uiPort: port,
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    functionGlobalContext: {},
    logging: { console: { level: 'error' as const, metrics: false, audit: false } },
    // No telemetry prompt, update check, tour or palette manager (it would run npm).
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { palette: { allowInstall: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
    ...settings,
  };
  RED.init(server, all);
  app.use(all.httpAdminRoot, RED.httpAdmin);
  app.use(all.httpNodeRoot, RED.httpNode);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // RED.start resolves before the (empty) flows of the new user directory have started.
  const flowsStarted = new Promise<void>((resolve) => RED.events.once('flows:started', () => resolve()));
  await RED.start();
  await flowsStarted;
  return { RED, server, url: `http://127.0.0.1:${port}` };
}

/** Stops the flows (a yoto-hub node stops its hub), the editor's comms and the HTTP server. */
export async function stopNodeRed(nodeRed: EmbeddedNodeRed | undefined): Promise<void> {
  if (!nodeRed) return;
  await nodeRed.RED.stop();
  await new Promise<void>((resolve) => {
    nodeRed.server.close(() => resolve());
    nodeRed.server.closeAllConnections();
  });
}

/** Deploys flows through the editor's admin API, as the Deploy button does (a full deployment), and waits until that revision runs. */
export async function deployFlows(nodeRed: EmbeddedNodeRed, flows: FlowConfig[]): Promise<void> {
  const startedRevisions: string[] = [];
  let wake: (() => void) | undefined;
  const onStarted = (event: { config?: { rev?: string } }): void => {
    if (event.config?.rev) startedRevisions.push(event.config.rev);
    wake?.();
  };
  nodeRed.RED.events.on('flows:started', onStarted);
  try {
    const response = await fetch(`${nodeRed.url}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify({ flows }),
    });
    const answer = (await response.json()) as { rev?: string };
    if (response.status !== 200) throw new Error(`POST /flows answered ${response.status}: ${JSON.stringify(answer)}`);
    // The admin API answers once the flows are saved; they start right after.
    while (!startedRevisions.includes(answer.rev ?? '')) await new Promise<void>((resolve) => (wake = resolve));
  } finally {
    nodeRed.RED.events.off('flows:started', onStarted);
  }
}

/** The node `id` of the running flows, if there is one. */
export function runningNode(nodeRed: EmbeddedNodeRed, id: string): Node | undefined {
  // RED.nodes is the runtime's internal nodes module here; getNode answers the node of the running flow.
  const nodes = nodeRed.RED.nodes as unknown as { getNode(id: string): Node | null };
  return nodes.getNode(id) ?? undefined;
}
