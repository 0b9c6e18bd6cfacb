import type { Node, NodeDef } from 'node-red';
import type { Hub } from '../../server/hub';

/** The settings the yoto-hub editor stores in the flow (all strings, as the editor saves them). */
export interface YotoHubNodeDef extends NodeDef {
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
}

/** Secrets kept in Node-RED's credentials file, never in the flow. */
export interface YotoHubCredentials {
  brokerUsername?: string;
  brokerPassword?: string;
}

/** The config node other Yoto nodes hold: it owns one Hub and fans its state out to them. */
export interface YotoHubNode extends Node<YotoHubCredentials> {
  hub: Hub | undefined;
  register(user: Node): void;
  deregister(user: Node): void;
}
