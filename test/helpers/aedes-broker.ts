import { EmbeddedBroker } from '../../server/broker/embedded-broker';
import { silentLogger } from '../../server/log/logger';

/** An in-process Aedes broker on a free loopback port (the same class the hub embeds). */
export async function startAedes(): Promise<EmbeddedBroker> {
  const broker = new EmbeddedBroker('127.0.0.1', 0, silentLogger);
  await broker.start();
  return broker;
}
