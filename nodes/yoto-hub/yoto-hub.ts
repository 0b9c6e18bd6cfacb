import * as path from 'node:path';
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { HubConfigError } from '../../server/config/hub-options';
import { completeSignInFromAddress, pastedAddress, requestSignInLink } from '../../server/cloud/sign-in-routes';
import { ApiError } from '../../server/http/api-error';
import { resolveHubOptionsWithSaved } from '../../server/config/saved-config';
import { Hub } from '../../server/hub';
import type { BrokerState } from '../../server/broker/home-broker-client';
import type { CloudState } from '../../server/cloud/cloud-connection';
import type { SignInLinks } from '../../server/yoto/auth/browser-sign-in';
import { LocalHubClient } from '../../server/remote/local-hub-client';
import { RemoteHubClient, type RemoteProblem } from '../../server/remote/remote-hub-client';
import type { HubClient } from '../../server/remote/hub-client';
import { deviceSummary } from '../shared/device-lookup';
import { nodeRedLogger } from '../shared/node-red-logger';
import type { YotoHubCredentials, YotoHubNode, YotoHubNodeDef } from '../shared/yoto-hub-node';

export = function registerYotoHub(RED: NodeAPI): void {
  function YotoHubNode(this: YotoHubNode, config: YotoHubNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const users = new Map<string, Node>();
    let status: NodeStatus = { fill: 'yellow', shape: 'ring', text: RED._('yoto-hub.status.starting') };

    const setStatus = (next: NodeStatus): void => {
      status = next;
      for (const user of users.values()) user.status(next);
    };

    node.register = (user) => {
      users.set(user.id, user);
      user.status(status);
    };
    node.deregister = (user) => {
      users.delete(user.id);
    };

    if (config.mode === 'remote') {
      startRemote(node, config, setStatus, users);
      return;
    }

    const userDir = RED.settings.userDir ?? process.cwd();
    let hub: Hub;
    try {
      // The node's own fields win, then what the panel saved (<data>/hub-config.json), then YOTO_* variables.
      const options = resolveHubOptionsWithSaved(
        {
          httpHost: config.httpHost,
          httpPort: config.httpPort,
          publicUrl: config.publicUrl,
          brokerUrl: config.brokerUrl,
          embeddedBrokerPort: config.embeddedBrokerPort,
          cloudMode: config.cloudMode,
          clientId: config.clientId,
          virtualCloudPort: config.virtualCloudPort,
          dataDir: config.dataDir,
          logLevel: config.logLevel,
          demoContent: config.demoContent ?? '',
          ...(node.credentials?.brokerUsername ? { brokerUsername: node.credentials.brokerUsername } : {}),
          ...(node.credentials?.brokerPassword ? { brokerPassword: node.credentials.brokerPassword } : {}),
        },
        path.join(userDir, 'yoto-smart-stream'),
        process.env,
        nodeRedLogger(node, 'info'),
      );
      hub = new Hub(options, { logger: nodeRedLogger(node, options.logLevel), nodeRedHubId: node.id });
    } catch (error) {
      const message = error instanceof HubConfigError ? error.message : String(error);
      node.error(RED._('yoto-hub.errors.config', { message }));
      node.hub = undefined;
      node.client = undefined;
      setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.misconfigured') });
      node.on('close', (_removed: boolean, done: () => void) => done());
      return;
    }
    node.hub = hub;
    const client = new LocalHubClient(hub);
    node.client = client;

    const onBrokerStatus = (state: BrokerState): void => {
      if (state === 'connected') setStatus({ fill: 'green', shape: 'dot', text: RED._('yoto-hub.status.connected') });
      else if (state === 'connecting' || state === 'reconnecting') setStatus({ fill: 'yellow', shape: 'ring', text: RED._('yoto-hub.status.connecting') });
      else if (state === 'disconnected') setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.disconnected') });
    };
    hub.on('broker-status', onBrokerStatus);
    const onCloudStatus = (state: CloudState): void => {
      if (state === 'needs_sign_in') setStatus({ fill: 'yellow', shape: 'ring', text: RED._('yoto-hub.status.signIn') });
      else if (state === 'failed') setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.cloudFailed') });
    };
    hub.on('cloud-status', onCloudStatus);
    const onSignIn = (links: SignInLinks): void => node.warn(RED._('yoto-hub.log.signIn', { url: links.authorizeUrl }));

    hub.on('cloud-sign-in', onSignIn);
    hub.start().then(
      () => node.log(RED._('yoto-hub.log.started', { url: hub.url })),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        node.error(RED._('yoto-hub.errors.start', { message }));
        setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.failed') });
      },
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      hub.off('broker-status', onBrokerStatus);
      hub.off('cloud-status', onCloudStatus);
      hub.off('cloud-sign-in', onSignIn);
      client.close();
      users.clear();
      hub.stop().then(done, (error: unknown) => {
        node.error(RED._('yoto-hub.errors.stop', { message: error instanceof Error ? error.message : String(error) }));
        done();
      });
    });
  }

  /** "Remote hub" mode: the nodes work on a hub server reached by URL with an API token. */
  function startRemote(node: YotoHubNode, config: YotoHubNodeDef, setStatus: (status: NodeStatus) => void, users: Map<string, Node>): void {
    node.hub = undefined;
    let client: RemoteHubClient;
    // Connected, connecting, unreachable (retrying), or the token refused: the nodes show which.
    const show = (problem: RemoteProblem, url: string): void => {
      if (problem === undefined) {
        node.log(RED._('yoto-hub.log.remoteConnected', { url }));
        setStatus({ fill: 'green', shape: 'dot', text: RED._('yoto-hub.status.remoteConnected') });
      } else if (problem === 'unauthorized') {
        node.error(RED._('yoto-hub.errors.remoteUnauthorized', { url }));
        setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.remoteUnauthorized') });
      } else if (problem === 'unreachable') {
        setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.remoteReconnecting') });
      } else {
        setStatus({ fill: 'yellow', shape: 'ring', text: RED._('yoto-hub.status.connecting') });
      }
    };
    try {
      client = new RemoteHubClient({
        url: (config.remoteUrl ?? '').trim(),
        token: (node.credentials?.apiToken ?? '').trim(),
        logger: nodeRedLogger(node, 'info'),
        onProblem: (problem) => show(problem, client.url),
      });
    } catch (error) {
      node.client = undefined;
      node.error(RED._('yoto-hub.errors.config', { message: error instanceof Error ? error.message : String(error) }));
      setStatus({ fill: 'red', shape: 'ring', text: RED._('yoto-hub.status.misconfigured') });
      node.on('close', (_removed: boolean, done: () => void) => done());
      return;
    }
    node.client = client;
    show(client.problem, client.url);
    client.start();
    node.on('close', (_removed: boolean, done: () => void) => {
      users.clear();
      client.close();
      done();
    });
  }

  /**
   * The running hub of the yoto-hub node named in an admin request, or undefined after
   * answering 404 (not deployed) or 503 (not running) for the editor.
   */
  function runningClient(req: Request, res: Response): { hubNode: YotoHubNode; client: HubClient } | undefined {
    // getNode returns the base Node type; the type check below makes it a yoto-hub.
    const hubNode = RED.nodes.getNode(String(req.params['hubId'])) as YotoHubNode | null;
    if (!hubNode || hubNode.type !== 'yoto-hub') {
      res.status(404).json({ error: { code: 'not_deployed', message: RED._('yoto-hub.errors.notDeployed') } });
      return undefined;
    }
    const client = hubNode.client;
    if (!client || client.state !== 'running') {
      res.status(503).json({ error: { code: 'not_running', message: RED._('yoto-hub.errors.notRunning', { state: client?.state ?? 'misconfigured' }) } });
      return undefined;
    }
    return { hubNode, client };
  }

  /** The in-process hub for sign-in; a remote hub signs in on its own panel (409). */
  function runningHub(req: Request, res: Response): { hubNode: YotoHubNode; hub: Hub } | undefined {
    const found = runningClient(req, res);
    if (!found) return undefined;
    if (!found.hubNode.hub) {
      res.status(409).json({ error: { code: 'remote_hub', message: RED._('yoto-hub.errors.remoteSignIn', { url: found.client.url }) } });
      return undefined;
    }
    return { hubNode: found.hubNode, hub: found.hubNode.hub };
  }

  // The editors of the device nodes fill their player dropdown from here (with a text
  // fallback while the hub is not deployed or not running yet).
  RED.httpAdmin.get('/yoto-hub/:hubId/devices', RED.auth.needsPermission('yoto-hub.read'), (req, res) => {
    const found = runningClient(req, res);
    if (!found) return;
    const { hubNode, client: hub } = found;
    const devices = hub.devices.list().map((state) => ({ ...deviceSummary(state), playback: { state: state.playback.state, cardId: state.playback.cardId, chapterKey: state.playback.chapterKey, trackKey: state.playback.trackKey } }));
    devices.sort((a, b) => a.name.localeCompare(b.name));
    // hubUrl: the web panel, for the editor's Yoto sidebar.
    res.json({ devices, hubUrl: hub.url, hubName: hubNode.name || '' });
  });

  // Card pickers (wait-until's and current-state's "card is") list the family library from here.
  RED.httpAdmin.get('/yoto-hub/:hubId/cards', RED.auth.needsPermission('yoto-hub.read'), (req, res) => {
    const found = runningClient(req, res);
    if (!found) return;
    found.client.cards().then(
      (cards) => res.json({ cards }),
      (error: unknown) => res.status(503).json({ error: { code: 'no_library', message: error instanceof Error ? error.message : String(error) } }),
    );
  });

  // The yoto-play-script editor fills its script dropdown from here.
  RED.httpAdmin.get('/yoto-hub/:hubId/scripts', RED.auth.needsPermission('yoto-hub.read'), (req, res) => {
    const found = runningClient(req, res);
    if (!found) return;
    found.client.scripts().then(
      (list) => {
        const scripts = list.map((script) => ({ id: script.id, name: script.name, type: script.type, cardId: script.cardId }));
        scripts.sort((a, b) => a.name.localeCompare(b.name));
        res.json({ scripts });
      },
      (error: unknown) => res.status(502).json({ error: { code: 'remote_error', message: error instanceof Error ? error.message : String(error) } }),
    );
  });

  // "Sign in with Yoto" in the editor: the link of the hub's PKCE sign-in (the callback comes
  // back to the hub's loopback port; the hub switches to the real cloud when it does).
  // {fresh: true} replaces a waiting link with a new one.
  RED.httpAdmin.post('/yoto-hub/:hubId/sign-in', RED.auth.needsPermission('yoto-hub.write'), (req, res) => {
    const found = runningHub(req, res);
    if (!found) return;
    const { hub } = found;
    const body: unknown = req.body;
    const fresh = typeof body === 'object' && body !== null && (body as { fresh?: unknown }).fresh === true;
    if (hub.cloud.active === 'yoto' && !fresh) {
      res.json({ signedIn: true, scopes: hub.cloud.scopes });
      return;
    }
    requestSignInLink(hub.cloud, fresh).then(
      (status) => res.json({ signedIn: false, url: status.url, redirectUri: status.redirectUri, scopes: status.scopes, ...(status.problem ? { problem: status.problem } : {}) }),
      (error: unknown) => adminError(res, error, RED._('yoto-hub.errors.noClientId')),
    );
  });

  // A headless hub (Raspberry Pi, Docker) signed in from another machine: the browser cannot
  // reach the hub's callback, so the user pastes the address it ended on.
  RED.httpAdmin.post('/yoto-hub/:hubId/sign-in/complete', RED.auth.needsPermission('yoto-hub.write'), (req, res) => {
    const found = runningHub(req, res);
    if (!found) return;
    let address: string;
    try {
      address = pastedAddress(req.body);
    } catch (error) {
      adminError(res, error);
      return;
    }
    completeSignInFromAddress(found.hub.cloud, address).then(
      (status) => res.json({ signedIn: true, active: status.active, scopes: status.scopes }),
      (error: unknown) => adminError(res, error),
    );
  });

  /** Answers an admin request that failed: the API error's status and body, or 502. */
  function adminError(res: Response, error: unknown, noClientIdMessage?: string): void {
    if (error instanceof ApiError) {
      const body = error.toBody();
      if (error.code === 'no_client_id' && noClientIdMessage) body.error.message = noClientIdMessage;
      res.status(error.status).json(body);
      return;
    }
    res.status(502).json({ error: { code: 'sign_in_failed', message: error instanceof Error ? error.message : String(error) } });
  }

  RED.nodes.registerType<YotoHubNode, YotoHubNodeDef, unknown, YotoHubCredentials>('yoto-hub', YotoHubNode, {
    credentials: {
      brokerUsername: { type: 'text' },
      brokerPassword: { type: 'password' },
      apiToken: { type: 'password' },
    },
  });
};
