import { expect } from 'chai';
import { silentLogger } from '../../server/log/logger';
import { VirtualCardStore } from '../../server/virtual/cards/card-store';
import {
  DEFAULT_VIRTUAL_PLAYERS,
  type PlayerButton,
  type VirtualFleet,
  type VirtualPlayerControl,
  type VirtualPlayerSnapshot,
} from '../../server/virtual/contracts';
import { VirtualDeviceRegistry } from '../../server/virtual/http/device-registry';
import { FaultInjector } from '../../server/virtual/http/faults';
import { VirtualMediaStore } from '../../server/virtual/http/media/media-store';
import { VirtualHttpServer } from '../../server/virtual/http/virtual-http-server';
import { VirtualTokenService } from '../../server/virtual/tokens/token-service';
import { VirtualFamilyLibrary } from '../../server/virtual/family/family-library';
import { linearCard } from '../yoto-rest/sample-cards';

/** Records what the control API asked of it: the routing is under test here, not the player. */
class RecordingPlayer implements VirtualPlayerControl {
  readonly calls: string[] = [];
  refuseWith: string | undefined;

  constructor(readonly deviceId: string) {}

  snapshot(): VirtualPlayerSnapshot {
    return {
      deviceId: this.deviceId, name: 'Recorder', deviceType: 'v3', online: true, poweredOn: true, cardId: 'none',
      playbackStatus: 'stopped', position: 0, volumePercent: 50, batteryLevel: 100, charging: false, nightlight: 'off',
      maxVolumeLevel: 16, screenOn: true, bluetooth: false, headphones: false,
    };
  }

  private async record(call: string): Promise<void> {
    if (this.refuseWith) throw new Error(this.refuseWith);
    this.calls.push(call);
  }

  press(button: PlayerButton): Promise<void> { return this.record(`press ${button}`); }
  turnVolume(steps: number): Promise<void> { return this.record(`volume ${steps}`); }
  insertCard(cardId: string): Promise<void> { return this.record(`insert ${cardId}`); }
  removeCard(): Promise<void> { return this.record('remove'); }
  powerOff(): Promise<void> { return this.record('power off'); }
  powerOn(): Promise<void> { return this.record('power on'); }
  setCharging(charging: boolean): Promise<void> { return this.record(`charging ${charging}`); }
  setHeadphones(plugged: boolean): Promise<void> { return this.record(`headphones ${plugged}`); }
}

describe('virtual cloud control API (routing)', () => {
  const player = new RecordingPlayer('recorder1');
  const fleet: VirtualFleet = { players: () => [player], player: (id) => (id === player.deviceId ? player : undefined) };
  const cards = new VirtualCardStore();
  let server: VirtualHttpServer;
  let cardId: string;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  }

  before(async () => {
    server = new VirtualHttpServer({
      host: '127.0.0.1', port: 0, tokens: new VirtualTokenService(), cards, family: new VirtualFamilyLibrary(cards), media: new VirtualMediaStore(),
      devices: new VirtualDeviceRegistry(DEFAULT_VIRTUAL_PLAYERS, fleet), fleet, faults: new FaultInjector(), logger: silentLogger,
    });
    await server.listen();
    cardId = (await cards.save(linearCard())).cardId;
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    player.calls.length = 0;
    player.refuseWith = undefined;
  });

  it('lists players and shows one', async () => {
    const list = await call('GET', '/virtual/devices');
    expect(list.status).to.equal(200);
    expect((list.body as { devices: VirtualPlayerSnapshot[] }).devices.map((d) => d.deviceId)).to.deep.equal(['recorder1']);
    const one = await call('GET', '/virtual/devices/recorder1');
    expect(one.body).to.include({ deviceId: 'recorder1', playbackStatus: 'stopped' });
  });

  it('routes each action to the player and answers with its snapshot', async () => {
    for (const [method, path, body] of [
      ['POST', '/virtual/devices/recorder1/press/left', undefined],
      ['POST', '/virtual/devices/recorder1/press/right', undefined],
      ['POST', '/virtual/devices/recorder1/volume', { steps: -3 }],
      ['POST', '/virtual/devices/recorder1/card', { cardId: 'PLACEHOLDER' }],
      ['DELETE', '/virtual/devices/recorder1/card', undefined],
      ['POST', '/virtual/devices/recorder1/power/off', undefined],
      ['POST', '/virtual/devices/recorder1/power/on', undefined],
    ] as const) {
      const answer = await call(method, path, body && 'cardId' in body ? { cardId } : body);
      expect(answer.status, `${method} ${path}`).to.equal(200);
      expect(answer.body).to.include({ deviceId: 'recorder1' });
    }
    // The charger and the headphones jack: no body, the state in the path.
    for (const action of ['charger/on', 'charger/off', 'headphones/in', 'headphones/out']) {
      expect((await call('POST', `/virtual/devices/recorder1/${action}`)).status, action).to.equal(200);
    }
    expect(player.calls).to.deep.equal([
      'press left', 'press right', 'volume -3', `insert ${cardId}`, 'remove', 'power off', 'power on',
      'charging true', 'charging false', 'headphones true', 'headphones false',
    ]);
  });

  it('refuses what makes no sense with a clear 4xx', async () => {
    expect((await call('POST', '/virtual/devices/nobody/press/left')).status).to.equal(404);
    expect((await call('POST', '/virtual/devices/recorder1/press/middle')).status).to.equal(404);
    const volume = await call('POST', '/virtual/devices/recorder1/volume', { steps: 'loud' });
    expect(volume.status).to.equal(400);
    expect((volume.body as { error: { message: string } }).error.message).to.contain('steps');
    expect((await call('POST', '/virtual/devices/recorder1/volume', { steps: 40 })).status).to.equal(400);
    const unknownCard = await call('POST', '/virtual/devices/recorder1/card', { cardId: 'nope1' });
    expect(unknownCard).to.deep.equal({ status: 404, body: { error: { code: 'not_found', message: 'card nope1 not found' } } });
    expect((await call('POST', '/virtual/devices/recorder1/power/maybe')).status).to.equal(404);
    expect((await call('POST', '/virtual/devices/recorder1/charger/maybe')).status).to.equal(404);
    const headphones = await call('POST', '/virtual/devices/recorder1/headphones/maybe');
    expect(headphones.status).to.equal(404);
    expect((headphones.body as { error: { message: string } }).error.message).to.contain('use in or out');
    expect(player.calls).to.deep.equal([]);
  });

  it('turns a player\'s refusal into 409 with its reason', async () => {
    player.refuseWith = 'Recorder is switched off';
    const answer = await call('POST', '/virtual/devices/recorder1/press/left');
    expect(answer.status).to.equal(409);
    expect((answer.body as { error: { code: string; message: string } }).error).to.deep.equal({
      code: 'player_refused',
      message: 'recorder1 could not press left: Recorder is switched off',
    });
  });

  it('needs no token for the control API, but the Yoto API does', async () => {
    expect((await call('GET', '/virtual/devices')).status).to.equal(200);
    expect((await call('GET', '/content/mine')).status).to.equal(401);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const answer = await call('GET', '/nothing/here');
    expect(answer).to.deep.equal({ status: 404, body: { error: { code: 'not_found', message: 'GET /nothing/here not found' } } });
  });
});
