import { automaticExit, indexStory, type Choice, type Story, type StoryExpectation, type StoryIndex, type StoryInput } from './model';

/** One step of a played path: the node entered and how. */
export interface PathStep {
  nodeId: string;
  /** 'start' for the first node; otherwise the connection's choice that led here. */
  via: 'start' | Choice;
  /** The input that caused the move (absent for the start). */
  input?: StoryInput;
  connectionId?: string;
}

export interface SimulationResult {
  /** Node ids in the order they were entered, the start first. */
  path: string[];
  steps: PathStep[];
  /** True when the story stopped (a passage ended with no automatic way on). */
  stopped: boolean;
  /** Inputs that changed nothing (a button with no choice, input after the story stopped), by position in `inputs`. */
  ignored: number[];
}

/**
 * Plays `inputs` from the start node, as a player runs an interactive card:
 * left / right follow that button's connection (a button without one does
 * nothing); `end` (the passage's audio finished) follows the `end`
 * connection, else `default`, else the story stops; `timeout` (no choice
 * within the waiting time) follows `default`, else does nothing. Once stopped,
 * inputs are ignored. Throws when the story has no valid start.
 */
export function simulate(story: Story, inputs: readonly StoryInput[], prebuilt?: StoryIndex): SimulationResult {
  const index = prebuilt ?? indexStory(story);
  const start = story.startNodeId;
  if (start === undefined || !index.nodes.has(start)) throw new Error('the story has no valid start node');
  const steps: PathStep[] = [{ nodeId: start, via: 'start' }];
  const ignored: number[] = [];
  let current = start;
  let stopped = false;
  inputs.forEach((input, position) => {
    if (stopped) {
      ignored.push(position);
      return;
    }
    const exits = index.exits.get(current);
    const connection =
      input === 'left' ? exits?.left : input === 'right' ? exits?.right : input === 'end' ? automaticExit(exits) : exits?.default;
    if (connection === undefined || !index.nodes.has(connection.to)) {
      if (input === 'end') stopped = true;
      else ignored.push(position);
      return;
    }
    current = connection.to;
    steps.push({ nodeId: current, via: connection.choice, input, connectionId: connection.id });
  });
  return { path: steps.map((step) => step.nodeId), steps, stopped, ignored };
}

export interface ExpectationResult {
  name: string;
  inputs: StoryExpectation['inputs'];
  expected: string[];
  actual: string[];
  passed: boolean;
  /** Why it failed, in words (absent when it passed). */
  message?: string;
}

/** Runs the story's stored `expect` cases. */
export function runExpectations(story: Story): { passed: number; failed: number; results: ExpectationResult[] } {
  const index = indexStory(story);
  const results = (story.expect ?? []).map((expectation, i): ExpectationResult => {
    const name = expectation.name ?? `case ${i + 1}`;
    let actual: string[] = [];
    let message: string | undefined;
    try {
      actual = simulate(story, expectation.inputs, index).path;
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    const passed = message === undefined && actual.length === expectation.path.length && actual.every((id, k) => id === expectation.path[k]);
    if (!passed && message === undefined) {
      const at = actual.findIndex((id, k) => id !== expectation.path[k]);
      const step = at === -1 ? Math.min(actual.length, expectation.path.length) : at;
      message = `expected ${JSON.stringify(expectation.path)} but the story went ${JSON.stringify(actual)} (first difference at step ${step + 1})`;
    }
    return { name, inputs: expectation.inputs, expected: expectation.path, actual, passed, ...(message !== undefined ? { message } : {}) };
  });
  const passed = results.filter((result) => result.passed).length;
  return { passed, failed: results.length - passed, results };
}
