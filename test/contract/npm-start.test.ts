import { expect } from 'chai';
import * as net from 'node:net';
import { removeTempDirs } from '../helpers/temp-dir';
import { ADMIN_ENV, signIn } from './client';
import { startProduct, type Product } from './product';

/** True when something still accepts connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * `npm start` itself, as the README runs it (npm, then the start script), not only the node command the
 * script runs: a container whose command is `npm start` is stopped with SIGTERM to npm alone. Before, the
 * script's shell stood between npm and node, and the product kept running, with its ports, after npm.
 */
describe('contract: npm start stops on SIGTERM, as a service manager stops it', function () {
  this.timeout(120_000);
  let product: Product | undefined;
  after(async () => {
    // Whatever a failed test left running: npm's whole process group.
    if (product) {
      try {
        process.kill(-product.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await removeTempDirs();
  });

  it('ends the hub and Node-RED cleanly, freeing their ports', async () => {
    product = await startProduct({ throughNpm: true, env: ADMIN_ENV });
    await signIn(product.hubUrl);
    const code = await product.stop('SIGTERM');
    expect(product.output.some((line) => /Stopped flows/.test(line)), product.output.slice(-5).join('\n')).to.equal(true);
    expect(product.output.some((line) => /^stopped\.$/.test(line.trim()))).to.equal(true);
    expect(await listening(product.hubUrl), 'the hub port').to.equal(false);
    expect(await listening(product.nodeRedUrl), 'the Node-RED port').to.equal(false);
    expect(await listening(product.brokerUrl), 'the broker port').to.equal(false);
    expect(code).to.not.equal(null);
  });
});
