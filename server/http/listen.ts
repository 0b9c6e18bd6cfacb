import type { Server } from 'node:net';

/**
 * Starts `server` on port and host and answers the port it is bound to (the free one picked
 * when port is 0). A failure rejects with `<what> could not start: <reason>` and the error's
 * code; when the port is taken the reason says so and adds `inUseHint` (what the user can do).
 */
export async function listenOn(server: Server, port: number, host: string, what: string, inUseHint: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason = error.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use; ${inUseHint}` : error.message;
      reject(Object.assign(new Error(`${what} could not start: ${reason}`), { code: error.code }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}
