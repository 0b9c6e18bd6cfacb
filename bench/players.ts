import { DEFAULT_VIRTUAL_PLAYERS, type VirtualPlayerSpec } from '../server/virtual/contracts';

/** The default players and then generated ones, `count` in all (ids of 24 lowercase letters and digits, like the defaults; unique up to 10^10). */
export function benchPlayers(count: number): VirtualPlayerSpec[] {
  const extra: VirtualPlayerSpec[] = [];
  for (let i = 0; extra.length + DEFAULT_VIRTUAL_PLAYERS.length < count; i++) {
    const mini = i % 2 === 1;
    extra.push({
      deviceId: `vbench0player0${String(i).padStart(10, '0')}`,
      name: `Bench Player ${String(i + 1).padStart(3, '0')}`,
      deviceType: mini ? 'mini' : 'v3',
      deviceFamily: mini ? 'mini' : 'v3',
      hasNightLight: !mini,
      firmware: 'v2.23.2',
    });
  }
  return [...DEFAULT_VIRTUAL_PLAYERS.slice(0, count), ...extra];
}
