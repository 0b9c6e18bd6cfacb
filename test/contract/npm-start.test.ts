import { expect } from 'chai';
import { isListening } from '../helpers/free-port';
import { removeTempDirs } from '../helpers/temp-dir';
import { ADMIN_ENV, signIn } from './client';
import { startProduct, type Product } from './product';

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
    for (const [name, url] of [['the hub', product.hubUrl], ['Node-RED', product.nodeRedUrl], ['the broker', product.brokerUrl]] as const) {
      expect(await isListening(Number(new URL(url).port)), `${name}'s port`).to.equal(false);
    }
    expect(code).to.not.equal(null);
  });
});
