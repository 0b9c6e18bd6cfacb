import { expect } from 'chai';
import { YotoApiError } from '../../server/yoto/rest/errors';
import { useSignedInRig, type CloudRig } from './cloud-harness';
import { linearCard } from './sample-cards';

/** Fault injection as a demo would do it: through the virtual cloud's control API. */
async function injectFault(rig: CloudRig, fault: Record<string, unknown>): Promise<Response> {
  return fetch(`${rig.cloud.url}/virtual/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
}

describe('Yoto REST client: retries on 429 and 5xx', function () {
  const signedIn = useSignedInRig('test');

  it('gets through two 503s with growing backoff', async () => {
    expect((await injectFault(signedIn.rig, { status: 503, count: 2 })).status).to.equal(201);
    const devices = await signedIn.adapter.api.listDevices();
    expect(devices).to.have.length(2);
    expect(signedIn.adapter.waits).to.deep.equal([500, 1000]);
  });

  it('honours Retry-After on a 429', async () => {
    await injectFault(signedIn.rig, { status: 429, count: 1, retryAfterSeconds: 7 });
    const card = await signedIn.adapter.api.saveCard(linearCard());
    expect(card.cardId).to.match(/^[A-Za-z0-9]{5}$/);
    expect(signedIn.adapter.waits).to.deep.equal([7000]);
    expect(await signedIn.adapter.api.listMyCards(), 'the card was created once').to.have.length(1);
  });

  it('retries a 500 on a config write, and the read-merge-write goes on', async () => {
    await injectFault(signedIn.rig, { status: 500, count: 1, pathPrefix: '/device-v2/vliving0room0yoto0player/config' });
    const config = await signedIn.adapter.api.updateDeviceConfig('vliving0room0yoto0player', { nightTime: '20:00' });
    expect(config.nightTime).to.equal('20:00');
    expect(signedIn.adapter.waits).to.have.length(1);
  });

  it('gives up after its retries with the last status, code and message', async () => {
    await injectFault(signedIn.rig, { status: 502, count: 10 });
    const error = await signedIn.adapter.api.listMyCards().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(YotoApiError);
    expect(error).to.include({ status: 502, code: 'injected_fault' });
    expect(signedIn.adapter.waits).to.have.length(4);
    const left = (await (await fetch(`${signedIn.rig.cloud.url}/virtual/faults`)).json()) as { faults: Array<{ count: number }> };
    expect(left.faults[0]!.count).to.equal(5);
  });

  it('does not wait for a Retry-After longer than it allows; the error says when to come back', async () => {
    await injectFault(signedIn.rig, { status: 429, count: 1, retryAfterSeconds: 600 });
    const error = (await signedIn.adapter.api.listDevices().catch((e: unknown) => e)) as YotoApiError;
    expect(error).to.be.instanceOf(YotoApiError);
    expect(error).to.include({ status: 429, retryAfterMs: 600_000 });
    expect(signedIn.adapter.waits).to.deep.equal([]);
  });

  it('refuses a malformed fault and lists and clears faults', async () => {
    const bad = await injectFault(signedIn.rig, { status: 200 });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).to.contain('status must be an HTTP error status');
    await injectFault(signedIn.rig, { status: 503, count: 3 });
    const cleared = await fetch(`${signedIn.rig.cloud.url}/virtual/faults`, { method: 'DELETE' });
    expect(await cleared.json()).to.deep.equal({ faults: [] });
    expect(await signedIn.adapter.api.listDevices()).to.have.length(2);
    expect(signedIn.adapter.waits).to.deep.equal([]);
  });
});
