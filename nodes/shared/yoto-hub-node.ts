import type { Node, NodeDef, NodeStatus } from 'node-red';
import type { Hub } from '../../server/hub';
import type { HubClient } from '../../server/remote/hub-client';

/** The settings the yoto-hub editor stores in the flow (all strings, as the editor saves them). */
export interface YotoHubNodeDef extends NodeDef {
  /** local (default): run the hub in Node-RED; remote: connect to a hub server at remoteUrl with an API token. */
  mode?: string;
  remoteUrl?: string;
  httpHost: string;
  httpPort: string;
  publicUrl: string;
  brokerUrl: string;
  embeddedBrokerPort: string;
  cloudMode: string;
  clientId: string;
  virtualCloudPort: string;
  dataDir: string;
  logLevel: string;
  /** '' (YOTO_DEMO_CONTENT, else off), 'true' or 'false': add the demo content to an empty hub. */
  demoContent?: string;
}

/** Secrets kept in Node-RED's credentials file, never in the flow. */
export interface YotoHubCredentials {
  brokerUsername?: string;
  brokerPassword?: string;
  /** The API token of a remote hub (mode remote). */
  apiToken?: string;
}

/**
 * The config node other Yoto nodes hold: it owns one hub client (an in-process Hub, or a
 * connection to a hub server) and fans its state out to them.
 */
export interface YotoHubNode extends Node<YotoHubCredentials> {
  /** What the Yoto nodes use; undefined when the node's settings are wrong. */
  client: HubClient | undefined;
  /** The in-process hub (Local hub mode only): tests and the bench reach its parts. */
  hub: Hub | undefined;
  register(user: Node): void;
  deregister(user: Node): void;
}

/**
 * The status of a node that acts through its hub: the hub's state (starting,
 * connected, failed...) shows until the node sets its own with `setStatus`,
 * which then stays. Without a hub the node says so, in its status and its
 * log. Call `stop` on close.
 */
export function hubStatusFor(node: Node, hubConfig: YotoHubNode | undefined, noHub: { status: string; error: string }): { setStatus(status: NodeStatus): void; stop(): void } {
  let own: NodeStatus | undefined;
  // register() only reads `id` and `status`; this sink stands in for the node so the hub's
  // status cannot overwrite the node's own once it has one.
  const sink = {
    id: node.id,
    status: (status: NodeStatus): void => {
      if (!own) node.status(status);
    },
  };
  if (hubConfig) {
    hubConfig.register(sink as unknown as Node);
  } else {
    node.status({ fill: 'red', shape: 'ring', text: noHub.status });
    node.error(noHub.error);
  }
  return {
    setStatus(status) {
      own = status;
      node.status(status);
    },
    stop() {
      hubConfig?.deregister(sink as unknown as Node);
    },
  };
}
