import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import { untilConnected } from '../../server/yoto/mqtt/until-connected';

describe('waiting for an MQTT client to be connected', () => {
  it('answers at once for a client that is connected', async () => {
    const client = new EventEmitter<{ state: [string] }>();
    await untilConnected(client, 'state', true);
    expect(client.listenerCount('state')).to.equal(0);
  });

  it('answers on "connected", not on the states before it, and takes its listener with it', async () => {
    const client = new EventEmitter<{ state: [string] }>();
    let answered = false;
    const waiting = untilConnected(client, 'state', false).then(() => (answered = true));
    client.emit('state', 'connecting');
    client.emit('state', 'reconnecting');
    await Promise.resolve();
    expect(answered, 'not before connected').to.equal(false);
    expect(client.listenerCount('state')).to.equal(1);
    client.emit('state', 'connected');
    await waiting;
    expect(answered).to.equal(true);
    expect(client.listenerCount('state')).to.equal(0);
  });
});
