import { expect } from 'chai';
import { COMMANDS_CHANNEL, CommandRelay } from '../../server/cluster/command-relay';
import type { CommandResult, DeviceCommand, DeviceCommander } from '../../server/yoto/device-command';
import { useRedis } from '../helpers/redis';

const PLAYER = 'vkids0bedroom0yoto0mini0';
const PAUSE: DeviceCommand = { type: 'pause' };

/** A cloud connection standing in for the player's: it records each command and answers when `release` is called. */
class HeldCommander implements DeviceCommander {
  readonly calls: DeviceCommand[] = [];
  private waiting: Array<() => void> = [];
  private arrived: Array<() => void> = [];

  execute(deviceId: string, command: DeviceCommand): Promise<CommandResult> {
    this.calls.push(command);
    for (const resolve of this.arrived.splice(0)) resolve();
    return new Promise((resolve) => this.waiting.push(() => resolve({ deviceId, command: command.type, confirmedBy: 'ack', latencyMs: 1 })));
  }

  /** Resolves once a command has arrived. */
  called(): Promise<void> {
    return this.calls.length > 0 ? Promise.resolve() : new Promise((resolve) => this.arrived.push(resolve));
  }

  release(): void {
    for (const answer of this.waiting.splice(0)) answer();
  }
}

/** The command relay between hub instances, on a real Redis. */
describe('cluster command relay', function () {
  this.timeout(30_000);
  const redis = useRedis();

  async function relay(instanceId: string, local: DeviceCommander): Promise<CommandRelay> {
    const started = new CommandRelay({ redis: await redis.connection(), instanceId, local, takeoverMs: 10_000 });
    await started.start();
    redis.onStop(() => started.stop());
    return started;
  }

  it('sends a command again when the leader that received it never answers, and the next leader carries it out', async () => {
    const dying = new HeldCommander();
    const next = new HeldCommander();
    const asker = await relay('asker', new HeldCommander());
    const first = await relay('first-leader', dying);
    const second = await relay('second-leader', next);
    await first.serve(true);

    const result = asker.execute(PLAYER, PAUSE);
    await dying.called();
    // The first leader dies with the request: it listens no more and never answers.
    await first.serve(false);
    await second.serve(true);
    await next.called();
    next.release();

    expect(await result).to.include({ deviceId: PLAYER, command: 'pause', confirmedBy: 'ack' });
    expect(dying.calls).to.have.length(1);
    expect(next.calls).to.have.length(1);
  });

  it('carries out a request sent again only once, and answers it', async () => {
    const player = new HeldCommander();
    const asker = await relay('asker', new HeldCommander());
    const leader = await relay('leader', player);
    await leader.serve(true);
    // Another listener on the leaders' channel sees each copy of the request.
    const copies: string[] = [];
    let secondCopy: () => void = () => undefined;
    const sentTwice = new Promise<void>((resolve) => (secondCopy = resolve));
    const watch = await redis.connection();
    await watch.subscribe(COMMANDS_CHANNEL, (raw) => {
      copies.push(raw);
      if (copies.length === 2) secondCopy();
    });

    const result = asker.execute(PLAYER, PAUSE);
    await sentTwice;
    expect(new Set(copies).size, 'the same request, sent again').to.equal(1);
    player.release();

    expect(await result).to.include({ deviceId: PLAYER, command: 'pause' });
    expect(player.calls, 'carried out once').to.have.length(1);
    expect(leader.stats()).to.include({ served: 1 });
  });
});
