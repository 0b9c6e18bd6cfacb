import type { VirtualPlayerSnapshot } from '../../server/virtual/contracts';
import type { VirtualPlayer } from '../../server/virtual/players';

/** Resolves with a virtual player's own snapshot once it passes `accept` (at once if it already does): its `change` events, no polling. */
export function snapshotWhen(player: VirtualPlayer, accept: (snapshot: VirtualPlayerSnapshot) => boolean): Promise<VirtualPlayerSnapshot> {
  const now = player.snapshot();
  if (accept(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const onChange = (snapshot: VirtualPlayerSnapshot): void => {
      if (!accept(snapshot)) return;
      player.off('change', onChange);
      resolve(snapshot);
    };
    player.on('change', onChange);
  });
}
