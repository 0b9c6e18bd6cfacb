import * as net from 'node:net';
import type { Aedes as AedesBroker } from 'aedes';
import type { Logger } from '../log/logger';

/**
 * An Aedes MQTT broker on a TCP port, for homes with no broker of their own.
 * It owns its server and every client socket, and closes all of them on stop.
 */
export class EmbeddedBroker {
  private broker: AedesBroker | undefined;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly host: string,
    private readonly requestedPort: number,
    private readonly logger: Logger,
    /** Decides each login; none: every client may connect (a home broker on loopback). */
    private readonly authorize?: (username: string | undefined, password: string | undefined) => boolean,
  ) {}

  /** The port actually bound (differs from the requested one when that was 0). */
  port = 0;

  get url(): string {
    const host = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `mqtt://${host}:${this.port}`;
  }

  async start(): Promise<void> {
    // aedes is ESM-only: loaded with import() so this CommonJS module runs on every Node.js 20.
    const { Aedes } = await import('aedes');
    const authorize = this.authorize;
    const broker = await Aedes.createBroker(
      authorize
        ? {
            authenticate: (client, username, password, done) => {
              if (authorize(username, password?.toString('utf8'))) {
                done(null, true);
                return;
              }
              this.logger.info('embedded broker refused a login', { clientId: client.id, username });
              // 4 = bad user name or password (MQTT 3.1.1 CONNACK)
              done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
            },
          }
        : {},
    );
    broker.on('clientError', (_client, error) => this.logger.debug('embedded broker client error', { err: error }));
    broker.on('connectionError', (_client, error) => this.logger.debug('embedded broker connection error', { err: error }));
    const server = net.createServer((socket) => {
      // MQTT messages are small and latency matters (commands, acks): no Nagle delay.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
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
