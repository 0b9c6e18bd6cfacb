import type { DeviceState } from '../../server/core/device-state';

/**
 * The player's state as the current-state and wait-until nodes show and test
 * it: the fields a flow asks about, with stable names.
 */
export interface PlayerStateView {
  deviceId: string;
  name: string;
  /** connected, idle, disconnected or shutdown */
  status: string;
  online: boolean;
  /** playing, paused, stopped, loading or idle */
  playback: string;
  /** The card in the player, or "none". */
  card: string;
  /** The card's title, once the hub has looked it up. */
  cardTitle?: string;
  title?: string;
  /** Percent */
  volume?: number;
  battery?: number;
  charging?: boolean;
  /** Wired headphones plugged in. */
  headphones?: boolean;
  /** Bluetooth headphones or a speaker connected. */
  bluetoothAudio?: boolean;
  /** none, physical, remote or streaming */
  cardSlot?: string;
  /** day or night */
  dayMode?: string;
  nightlight?: string;
}

export const CONDITION_PROPERTIES = ['playback', 'status', 'card', 'online', 'volume', 'battery', 'charging', 'headphones', 'bluetoothAudio', 'dayMode'] as const;
export type ConditionProperty = (typeof CONDITION_PROPERTIES)[number];
export const CONDITION_OPERATORS = ['is', 'is_not', 'in', 'not_in', 'lt', 'gt'] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export interface StateCondition {
  property: ConditionProperty;
  operator: ConditionOperator;
  /** Compared as text; "in" takes a comma-separated list; lt/gt compare numbers. */
  value: string;
}

export function stateView(state: DeviceState): PlayerStateView {
  const view: PlayerStateView = {
    deviceId: state.deviceId,
    name: state.name,
    status: state.status,
    online: state.online,
    playback: state.playback.state ?? 'idle',
    card: state.playback.hasCard === false ? 'none' : (state.playback.cardId ?? 'none'),
  };
  const title = state.playback.trackTitle ?? state.playback.chapterTitle;
  if (title !== undefined) view.title = title;
  if (state.volume) view.volume = state.volume.percent;
  if (state.battery !== undefined) view.battery = state.battery;
  if (state.playback.cardTitle !== undefined) view.cardTitle = state.playback.cardTitle;
  if (state.charging !== undefined) view.charging = state.charging;
  if (state.headphones !== undefined) view.headphones = state.headphones;
  if (state.bluetoothAudio !== undefined) view.bluetoothAudio = state.bluetoothAudio;
  if (state.cardSlot !== undefined) view.cardSlot = state.cardSlot;
  if (state.dayMode !== undefined) view.dayMode = state.dayMode;
  if (state.hasNightLight && state.nightlight !== undefined) view.nightlight = state.nightlight;
  return view;
}

/** Checks a condition from the editor; undefined when it is usable, else why not. */
export function conditionProblem(condition: Partial<StateCondition>): string | undefined {
  if (!CONDITION_PROPERTIES.includes(condition.property as ConditionProperty)) return `property must be one of ${CONDITION_PROPERTIES.join(', ')}`;
  if (!CONDITION_OPERATORS.includes(condition.operator as ConditionOperator)) return `operator must be one of ${CONDITION_OPERATORS.join(', ')}`;
  if ((condition.operator === 'lt' || condition.operator === 'gt') && !Number.isFinite(Number(condition.value))) return `"${condition.value}" is not a number to compare with`;
  return undefined;
}

export function conditionHolds(view: PlayerStateView, condition: StateCondition): boolean {
  const actual = view[condition.property];
  const text = actual === undefined ? '' : String(actual);
  const wanted = condition.value.trim();
  const list = wanted.split(',').map((item) => item.trim());
  switch (condition.operator) {
    case 'is':
      return text.toLowerCase() === wanted.toLowerCase();
    case 'is_not':
      return text.toLowerCase() !== wanted.toLowerCase();
    case 'in':
      return list.some((item) => item.toLowerCase() === text.toLowerCase());
    case 'not_in':
      return !list.some((item) => item.toLowerCase() === text.toLowerCase());
    case 'lt':
      return typeof actual === 'number' && actual < Number(wanted);
    case 'gt':
      return typeof actual === 'number' && actual > Number(wanted);
  }
}

export function describeCondition(condition: StateCondition): string {
  const words: Record<ConditionOperator, string> = { is: 'is', is_not: 'is not', in: 'is one of', not_in: 'is none of', lt: '<', gt: '>' };
  return `${condition.property} ${words[condition.operator]} ${condition.value}`;
}
