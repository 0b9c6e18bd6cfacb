import * as net from 'node:net';
import type { Aedes, AuthenticateError, Client } from 'aedes';

export interface LoginAttempt {
  clientId: string;
  username: string | undefined;
  password: string | undefined;
  accepted: boolean;
}

/**
 * An Aedes broker that checks the password like the AWS IoT custom
 * authorizer: only tokens in `validTokens` get in. Tests revoke tokens and
 * drop clients to play token expiry.
 */
export class TokenBroker {
  readonly validTokens = new Set<string>();
  readonly logins: LoginAttempt[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Set<Client>();
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  port = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TokenBroker> {
    const self = new TokenBroker();
    await self.listen();
    return self;
  }

  /** Drops every connected client, as AWS IoT does when a token expires. */
  dropClients(): void {
    for (const client of this.clients) client.close();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const { server, broker } = this;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const token = password?.toString('utf8');
        const accepted = token !== undefined && this.validTokens.has(token);
        this.logins.push({ clientId: client.id, username, password: token, accepted });
        if (accepted) done(null, true);
        else done(Object.assign(new Error('token rejected'), { returnCode: 4 }) as AuthenticateError, null);
      },
    });
    broker.on('client', (client) => this.clients.add(client));
    broker.on('clientDisconnect', (client) => this.clients.delete(client));
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.broker = broker;
    this.server = server;
  }
}
