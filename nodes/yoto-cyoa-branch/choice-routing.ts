import type { DeviceEvent } from '../../server/types/schemas';
import type { Exits } from '../../server/stories/model';

/**
 * How a yoto-cyoa-branch turns a choice into an output. Kept in one place so
 * the modes (message, player, story) share it and a story-aware editor can
 * name the outputs after a story node's choices.
 */

/** The outputs, in wire order (the story compiler wires them in this order too). */
export const OUTPUTS = ['left', 'right', 'default', 'timeout'] as const;
export type Output = (typeof OUTPUTS)[number];

/** What can be chosen: the story model's choices (`end` and `default` both leave by the third output). */
export type Choice = 'left' | 'right' | 'end' | 'default';
export const CHOICES: readonly Choice[] = ['left', 'right', 'end', 'default'];

export type BranchMode = 'message' | 'player' | 'story';

export function isChoice(value: unknown): value is Choice {
  return typeof value === 'string' && (CHOICES as readonly string[]).includes(value);
}

/** The output index (0..3) a choice or the timeout leaves by. */
export function outputIndex(choice: Choice | 'timeout'): number {
  if (choice === 'left') return 0;
  if (choice === 'right') return 1;
  if (choice === 'timeout') return 3;
  return 2;
}

/** A message's own choice: `msg.choice`, else a `msg.payload` that is exactly a choice (what the story compiler's comment promises). */
export function choiceOfMessage(msg: { choice?: unknown; payload?: unknown }): Choice | undefined {
  const raw = msg.choice ?? msg.payload;
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  return isChoice(text) ? text : undefined;
}

/** Compares two chapter or track keys ("01" < "02" < "10"): numerically when both are numbers. */
function compareKeys(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The choice a player event on the watched device makes, or undefined when it makes none:
 * - `button_press` (`data.button` left/right): that button;
 * - `story_node_entered` (`data.nodeId`), story mode: the exit that leads to that node (left, right, else end);
 * - `track_changed`: a move back (previous chapter/track) is left, a move forward is right
 *   (what the player's buttons do on a linear card; the end of a track running into the next counts as forward);
 * - `playback_stopped`, `card_removed`: end (the passage is over or the card came out).
 */
export function choiceOfEvent(event: Pick<DeviceEvent, 'type' | 'data'>, mode: BranchMode, exits?: Exits): Choice | undefined {
  const data = event.data;
  switch (event.type) {
    case 'button_press': {
      const button = data['button'];
      return button === 'left' || button === 'right' ? button : undefined;
    }
    case 'story_node_entered': {
      if (mode !== 'story' || !exits) return undefined;
      const nodeId = data['nodeId'];
      if (exits.left && exits.left.to === nodeId) return 'left';
      if (exits.right && exits.right.to === nodeId) return 'right';
      return 'end';
    }
    case 'track_changed': {
      const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
      const chapter = str(data['chapterKey']);
      const previousChapter = str(data['previousChapterKey']);
      const track = str(data['trackKey']);
      const previousTrack = str(data['previousTrackKey']);
      let order = 0;
      if (chapter !== undefined && previousChapter !== undefined && chapter !== previousChapter) order = compareKeys(chapter, previousChapter);
      else if (track !== undefined && previousTrack !== undefined) order = compareKeys(track, previousTrack);
      if (order < 0) return 'left';
      if (order > 0) return 'right';
      return undefined;
    }
    case 'playback_stopped':
    case 'card_removed':
      return 'end';
    default:
      return undefined;
  }
}

/** Output labels from the settings: a story node's choice labels in story mode, else the generic names. */
export function outputLabels(labels: { left?: string; right?: string; end?: string } = {}): string[] {
  return [labels.left || 'left', labels.right || 'right', labels.end || 'end of passage / default', 'no choice (timeout)'];
}
