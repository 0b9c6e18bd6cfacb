import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Aedes as AedesBroker, AedesOptions, Client } from 'aedes';
import * as mqttPacket from 'mqtt-packet';
import type { Logger } from '../log/logger';
import { HUB_CLIENT_ID_PREFIX, type BrokerAcl, type BrokerIdentity } from './broker-acl';
import { RetainedIndex, type RetainedPersistence } from './retained-index';

/** A login's verdict: accepted, or refused with an MQTT 3.1.1 CONNACK code (4 bad user name or password, 5 not authorized). */
export type LoginVerdict = true | LoginRefusal;
export interface LoginRefusal {
  returnCode: 4 | 5;
  reason: string;
}

/** Who may connect and what they may do; without it the broker is open (a stand-in for a house's open broker in tests). */
export interface EmbeddedBrokerAccess {
  /**
   * The identity of a login; undefined refuses it (CONNACK 4, bad user name or password), a
   * refusal refuses it with its own code (5: known, but not authorized, e.g. a token without the MQTT scope).
   */
  identify(username: string | undefined, password: string | undefined): Promise<BrokerIdentity | LoginRefusal | undefined>;
  acl: BrokerAcl;
  /** Whether clients without a user name may connect (confined to the house's own topics). */
  anonymous: 'house' | 'off';
  /**
   * The most topic filters one SUBSCRIBE of this login may carry (AWS IoT allows 8); a
   * SUBSCRIBE with more closes the connection, as AWS IoT does. Undefined (or no function): no limit.
   */
  subscribeLimit?(username: string | undefined): number | undefined;
}

/** What the broker saw of SUBSCRIBE packets from logins with a limit. */
export interface SubscribeStats {
  /** The most topic filters seen in one SUBSCRIBE packet. */
  largest: number;
  /** SUBSCRIBE packets seen. */
  packets: number;
  /** SUBSCRIBE packets refused (more filters than allowed): each closed its connection. */
  refused: number;
}

/** An extra TLS listener (mqtts) beside the plain one, for clients on the home network. */
export interface EmbeddedBrokerTls {
  port: number;
  certFile: string;
  keyFile: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/**
 * An Aedes MQTT broker on a TCP port (and optionally a TLS port), for homes with no broker of their
 * own. It owns its servers and every client socket, and closes all of them on stop.
 */
export class EmbeddedBroker {
  private broker: AedesBroker | undefined;
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly identities = new WeakMap<Client, BrokerIdentity>();
  /** Refused logins, publishes and deliveries since start (a probe shows up here and in the log). */
  readonly refused = { logins: 0, publishes: 0 };
  /** Connections whose last SUBSCRIBE carried more filters than their login may send. */
  private readonly overLimit = new WeakSet<net.Socket>();
  private readonly subscribes: SubscribeStats = { largest: 0, packets: 0, refused: 0 };

  constructor(
    private readonly host: string,
    private readonly requestedPort: number,
    private readonly logger: Logger,
    private readonly access?: EmbeddedBrokerAccess,
    private readonly tlsOptions?: EmbeddedBrokerTls,
  ) {}

  /** SUBSCRIBE packets seen from logins with a limit (the adapter's, following virtual players). */
  subscribeStats(): SubscribeStats {
    return { ...this.subscribes };
  }

  /** The port actually bound (differs from the requested one when that was 0). */
  port = 0;
  /** The TLS port actually bound, when TLS is on. */
  tlsPort: number | undefined;

  get url(): string {
    return `mqtt://${this.connectHost}:${this.port}`;
  }

  get tlsUrl(): string | undefined {
    return this.tlsPort === undefined ? undefined : `mqtts://${this.connectHost}:${this.tlsPort}`;
  }

  private get connectHost(): string {
    return this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
  }

  async start(): Promise<void> {
    // aedes is ESM-only: loaded with import() so this CommonJS module runs on every Node.js 20.
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker(this.access ? this.accessHooks(this.access) : {});
    // Retained messages indexed so a SUBSCRIBE does not test every one of them; a new broker starts
    // with none, as Aedes's own. Aedes's types leave its persistence untyped (any); its callback layer has these methods.
    new RetainedIndex().install((broker as unknown as { persistence: RetainedPersistence }).persistence);
    broker.on('clientError', (_client, error) => this.logger.debug('embedded broker client error', { err: error }));
    broker.on('connectionError', (_client, error) => this.logger.debug('embedded broker connection error', { err: error }));
    const handle = (socket: net.Socket): void => {
      // MQTT messages are small and latency matters (commands, acks): no Nagle delay.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
      const limitFor = this.access?.subscribeLimit;
      if (limitFor) this.watchSubscribes(socket, (username) => limitFor(username));
    };
    this.broker = broker;
    this.port = await this.listen(net.createServer(handle), this.requestedPort, 'YOTO_BROKER_PORT');
    if (this.tlsOptions) {
      const server = tls.createServer({ cert: fs.readFileSync(this.tlsOptions.certFile), key: fs.readFileSync(this.tlsOptions.keyFile) }, handle);
      this.tlsPort = await this.listen(server, this.tlsOptions.port, 'YOTO_BROKER_TLS_PORT');
    }
    this.logger.info('embedded MQTT broker listening', { url: this.url, ...(this.tlsUrl ? { tlsUrl: this.tlsUrl } : {}) });
    this.warnIfExposed();
  }

  async stop(): Promise<void> {
    const { broker } = this;
    const servers = this.servers.splice(0);
    this.broker = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  /**
   * Publishes as the hub from inside the process: the packet goes into Aedes as if the hub's
   * client had sent it (the same retain flag and QoS, retained messages stored, offline
   * sessions queued, every subscriber filtered by the ACL's authorizeForward) without
   * being written to a socket, acknowledged and parsed again. The hub may publish on every
   * topic, so the publish check clients go through has nothing to refuse here.
   */
  publishLocal(topic: string, payload: string, retain: boolean, done: (error?: Error) => void): void {
    const broker = this.broker;
    if (!broker) {
      done(new Error('the embedded MQTT broker is not running'));
      return;
    }
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, done);
  }

  /**
   * Reads the client's packets beside Aedes (the same bytes, as Aedes reads them) to
   * count the filters of each SUBSCRIBE: Aedes checks subscriptions one filter at a time.
   */
  private watchSubscribes(socket: net.Socket, limitFor: (username: string | undefined) => number | undefined): void {
    const parser = mqttPacket.parser();
    let limit: number | undefined;
    const stop = (): void => {
      socket.off('data', onData);
      parser.removeAllListeners();
    };
    const onData = (chunk: Buffer): void => {
      parser.parse(chunk);
    };
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connect') {
        limit = limitFor(packet.username || undefined);
        if (limit === undefined) stop();
        return;
      }
      if (packet.cmd !== 'subscribe' || limit === undefined) return;
      const filters = packet.subscriptions.length;
      this.subscribes.packets++;
      this.subscribes.largest = Math.max(this.subscribes.largest, filters);
      if (filters > limit) {
        this.subscribes.refused++;
        this.overLimit.add(socket);
        this.logger.warn('embedded broker refused a SUBSCRIBE with too many topic filters', { filters, limit });
      }
    });
    parser.on('error', stop);
    socket.on('data', onData);
    socket.once('close', stop);
  }

  private async listen(server: net.Server, port: number, setting: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const reason = error.code === 'EADDRINUSE'
          ? `port ${port} on ${this.host} is already in use; set ${setting} or configure an external broker URL`
          : error.message;
        reject(Object.assign(new Error(`embedded MQTT broker could not start: ${reason}`), { code: error.code }));
      };
      server.once('error', onError);
      server.listen(port, this.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.servers.push(server);
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  /** Loud, on purpose: a broker reachable from the network must not be open to everyone. */
  private warnIfExposed(): void {
    if (LOOPBACK.test(this.host)) return;
    if (!this.access) {
      this.logger.error('THE EMBEDDED MQTT BROKER IS REACHABLE FROM THE NETWORK WITHOUT AUTHENTICATION: anyone on it can read and command every player', { host: this.host, port: this.port });
      return;
    }
    if (this.access.anonymous === 'house') {
      this.logger.error('THE EMBEDDED MQTT BROKER IS REACHABLE FROM THE NETWORK AND LETS CLIENTS IN WITHOUT AUTHENTICATION (confined to topics outside yoto/, device/ and discovery); set YOTO_BROKER_ANONYMOUS=off to require a login', { host: this.host, port: this.port });
    }
    if (!this.tlsOptions) {
      this.logger.warn('the embedded MQTT broker is reachable from the network without TLS: passwords cross the network in clear; set YOTO_BROKER_TLS_CERT and YOTO_BROKER_TLS_KEY', { host: this.host, port: this.port });
    }
  }

  private accessHooks(access: EmbeddedBrokerAccess): Partial<AedesOptions> {
    const refuse = (client: Client, username: string | undefined, returnCode: 2 | 4 | 5, why: string): Error & { returnCode: 2 | 4 | 5 } => {
      this.refused.logins++;
      this.logger.warn('embedded broker refused a login', { clientId: client.id, ...(username ? { username } : {}), reason: why });
      return Object.assign(new Error(why), { returnCode });
    };
    return {
      authenticate: (client, username, password, done) => {
        access.identify(username || undefined, password?.toString('utf8')).then(
          (identity) => {
            if (!identity) {
              done(refuse(client, username, 4, username ? 'bad user name or password' : 'anonymous clients are not allowed'), false);
              return;
            }
            if ('returnCode' in identity) {
              done(refuse(client, username, identity.returnCode, identity.reason), false);
              return;
            }
            // Only the hub connects with the hub's client ids, and no client takes over another identity's id.
            // Aedes keeps its connected clients by id (not in its type declarations).
            const holder = (this.broker as unknown as { clients?: Record<string, Client> } | undefined)?.clients?.[client.id];
            const holderIdentity = holder ? this.identities.get(holder) : undefined;
            if ((client.id.startsWith(HUB_CLIENT_ID_PREFIX) && identity.kind !== 'hub' && identity.kind !== 'adapter') || (holderIdentity && !sameIdentity(holderIdentity, identity))) {
              done(refuse(client, username, 5, 'this client id belongs to another client'), false);
              return;
            }
            this.identities.set(client, identity);
            done(null, true);
          },
          (error: unknown) => done(refuse(client, username, 5, `could not check the login: ${String(error)}`), false),
        );
      },
      authorizePublish: (client, packet, done) => {
        const identity = client ? this.identities.get(client) : undefined;
        if (!client || (identity && access.acl.mayPublish(identity, packet.topic))) {
          done(null);
          return;
        }
        this.refused.publishes++;
        this.logger.warn('embedded broker refused a publish', { clientId: client.id, identity: identity?.kind, topic: packet.topic });
        done(new Error(`not allowed to publish on ${packet.topic}`));
      },
      authorizeSubscribe: (client, subscription, done) => {
        if (client.conn instanceof net.Socket && this.overLimit.has(client.conn)) {
          done(new Error('too many topic filters in one SUBSCRIBE'), null);
          return;
        }
        done(null, subscription);
      },
      authorizeForward: (client, packet) => {
        const identity = this.identities.get(client);
        return identity && access.acl.mayReceive(identity, packet.topic) ? packet : undefined;
      },
    };
  }
}

function sameIdentity(a: BrokerIdentity, b: BrokerIdentity): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'user' || (b.kind === 'user' && a.userId === b.userId);
}
