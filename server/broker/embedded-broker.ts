import * as net from 'node:net';
import type { Aedes as AedesBroker } from 'aedes';
import * as mqttPacket from 'mqtt-packet';
import type { Logger } from '../log/logger';

/** A login's verdict: accepted, or refused with an MQTT 3.1.1 CONNACK code (4 bad user name or password, 5 not authorized). */
export type LoginVerdict = true | { returnCode: 4 | 5; reason: string };

export interface EmbeddedBrokerPolicy {
  /** Decides each login; none: every client may connect (a home broker on loopback). A boolean false refuses with code 4. */
  authorize?: (username: string | undefined, password: string | undefined) => boolean | LoginVerdict;
  /**
   * The most topic filters one SUBSCRIBE of this login may carry (AWS IoT allows 8); a
   * SUBSCRIBE with more closes the connection, as AWS IoT does. Undefined: no limit.
   */
  subscribeLimit?: (username: string | undefined) => number | undefined;
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

/**
 * An Aedes MQTT broker on a TCP port, for homes with no broker of their own.
 * It owns its server and every client socket, and closes all of them on stop.
 */
export class EmbeddedBroker {
  private broker: AedesBroker | undefined;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Connections whose last SUBSCRIBE carried more filters than their login may send. */
  private readonly overLimit = new WeakSet<net.Socket>();
  private readonly subscribes: SubscribeStats = { largest: 0, packets: 0, refused: 0 };
  private readonly policy: EmbeddedBrokerPolicy;

  constructor(
    private readonly host: string,
    private readonly requestedPort: number,
    private readonly logger: Logger,
    /** A login policy, or (older form) just the login check. */
    policy?: EmbeddedBrokerPolicy | ((username: string | undefined, password: string | undefined) => boolean),
  ) {
    this.policy = typeof policy === 'function' ? { authorize: policy } : policy ?? {};
  }

  /** SUBSCRIBE packets seen from logins with a limit (the adapter's, following virtual players). */
  subscribeStats(): SubscribeStats {
    return { ...this.subscribes };
  }

  /** The port actually bound (differs from the requested one when that was 0). */
  port = 0;

  get url(): string {
    const host = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `mqtt://${host}:${this.port}`;
  }

  async start(): Promise<void> {
    // aedes is ESM-only: loaded with import() so this CommonJS module runs on every Node.js 20.
    const { Aedes } = await import('aedes');
    const { authorize, subscribeLimit } = this.policy;
    const broker = await Aedes.createBroker({
      ...(authorize
        ? {
            authenticate: (client, username, password, done) => {
              const verdict = authorize(username, password?.toString('utf8'));
              if (verdict === true) {
                done(null, true);
                return;
              }
              const refusal = verdict === false ? { returnCode: 4 as const, reason: 'bad user name or password' } : verdict;
              this.logger.info('embedded broker refused a login', { clientId: client.id, username, reason: refusal.reason });
              done(Object.assign(new Error(refusal.reason), { returnCode: refusal.returnCode }), false);
            },
          }
        : {}),
      ...(subscribeLimit
        ? {
            authorizeSubscribe: (client, subscription, done) => {
              if (client.conn instanceof net.Socket && this.overLimit.has(client.conn)) {
                done(new Error('too many topic filters in one SUBSCRIBE'), null);
                return;
              }
              done(null, subscription);
            },
          }
        : {}),
    });
    broker.on('clientError', (_client, error) => this.logger.debug('embedded broker client error', { err: error }));
    broker.on('connectionError', (_client, error) => this.logger.debug('embedded broker connection error', { err: error }));
    const server = net.createServer((socket) => {
      // MQTT messages are small and latency matters (commands, acks): no Nagle delay.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
      if (subscribeLimit) this.watchSubscribes(socket, subscribeLimit);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const reason = error.code === 'EADDRINUSE'
          ? `port ${this.requestedPort} on ${this.host} is already in use; set YOTO_BROKER_PORT or configure an external broker URL`
          : error.message;
        reject(Object.assign(new Error(`embedded MQTT broker could not start: ${reason}`), { code: error.code }));
      };
      server.once('error', onError);
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : this.requestedPort;
    this.broker = broker;
    this.server = server;
    this.logger.info('embedded MQTT broker listening', { url: this.url });
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
        limit = limitFor(packet.username);
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

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}
