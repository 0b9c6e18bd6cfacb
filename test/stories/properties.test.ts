import { expect } from 'chai';
import fc from 'fast-check';
import type { CardInput } from '../../server/yoto/card';
import { validateCard } from '../../server/virtual/cards/validate-card';
import { compileToCard, fromTwee, reachableFrom, indexStory, simulate, toTwee, validateStory, type Story, type StoryInput } from '../../server/stories';

type Conn = Story['connections'][number];

/** Random story graphs: n nodes, each choice present or not, targets anywhere (loops included). */
const storyArb = fc.integer({ min: 1, max: 40 }).chain((n) =>
  fc
    .record({
      exits: fc.array(
        fc.record({
          left: fc.option(fc.nat(n - 1), { nil: undefined }),
          right: fc.option(fc.nat(n - 1), { nil: undefined }),
          auto: fc.option(fc.record({ to: fc.nat(n - 1), kind: fc.constantFrom('end' as const, 'default' as const), timeout: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }) }), { nil: undefined }),
          ending: fc.boolean(),
          label: fc.option(fc.stringMatching(/^[A-Za-z ]{1,20}$/), { nil: undefined }),
          prompt: fc.option(fc.stringMatching(/^[A-Za-z]([A-Za-z.,!? ]*[A-Za-z])?$/), { nil: undefined }),
        }),
        { minLength: n, maxLength: n },
      ),
      start: fc.nat(n - 1),
    })
    .map(({ exits, start }): Story => {
      const connections: Conn[] = [];
      exits.forEach((e, i) => {
        if (e.left !== undefined) connections.push({ id: `c${i}l`, from: `n${i}`, to: `n${e.left}`, choice: 'left', ...(e.label !== undefined ? { label: e.label } : {}) });
        if (e.right !== undefined) connections.push({ id: `c${i}r`, from: `n${i}`, to: `n${e.right}`, choice: 'right' });
        if (e.auto !== undefined) {
          connections.push({ id: `c${i}a`, from: `n${i}`, to: `n${e.auto.to}`, choice: e.auto.kind, ...(e.auto.kind === 'default' && e.auto.timeout !== undefined ? { timeoutSeconds: e.auto.timeout } : {}) });
        }
      });
      return {
        id: 'p',
        userId: 'u',
        title: 'Random',
        startNodeId: `n${start}`,
        nodes: exits.map((e, i) => ({ id: `n${i}`, title: `Passage ${i}`, audioFileId: `a${i}`, position: { x: i * 10, y: -i || 0 }, ...(e.ending ? { ending: true } : {}), ...(e.prompt !== undefined ? { prompt: e.prompt } : {}) })),
        connections,
        createdAt: '2026-01-10T08:15:32.000Z',
        updatedAt: '2026-01-10T08:15:32.000Z',
      };
    }),
);

const inputsArb = fc.array(fc.constantFrom<StoryInput>('left', 'right', 'end'), { maxLength: 25 });

/** Plays a compiled card's gotos the way the virtual player does. */
function playCard(card: CardInput, chapterToNode: Record<string, string>, inputs: readonly StoryInput[]): string[] {
  const byKey = new Map(card.content.chapters.map((chapter) => [chapter.key, chapter]));
  let chapter = card.content.chapters[0]!;
  const path = [chapterToNode[chapter.key]!];
  let stopped = false;
  for (const input of inputs) {
    if (stopped) break;
    const events = chapter.tracks[0]!.events ?? {};
    const event = input === 'left' ? events.onLhb : input === 'right' ? events.onRhb : events.onEnd ?? { cmd: 'stop' as const };
    if (!event) continue;
    if (event.cmd === 'stop') {
      stopped = true;
      continue;
    }
    chapter = byKey.get(event.params.chapterKey)!;
    path.push(chapterToNode[chapter.key]!);
  }
  return path;
}

describe('story engine: properties on random graphs', () => {
  const url = (node: { id: string }): string => `https://hub.example.com/s/${node.id}`;

  it('every compiled goto key exists and the card passes the virtual cloud validator', () => {
    fc.assert(
      fc.property(storyArb, (story) => {
        const { card } = compileToCard(story, { trackUrl: url });
        expect(validateCard(card)).to.deep.equal([]);
        const keys = new Set(card.content.chapters.map((c) => `${c.key}/${c.tracks[0]!.key}`));
        for (const chapter of card.content.chapters) {
          for (const event of Object.values(chapter.tracks[0]!.events ?? {})) {
            if (event?.cmd === 'goto') expect(keys.has(`${event.params.chapterKey}/${event.params.trackKey}`)).to.equal(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('every reachable node has its chapter, and only those', () => {
    fc.assert(
      fc.property(storyArb, (story) => {
        const { nodeToChapter, chapterToNode, card } = compileToCard(story, { trackUrl: url });
        const { order } = reachableFrom(indexStory(story), story.startNodeId!);
        expect(Object.keys(nodeToChapter).sort()).to.deep.equal([...order].sort());
        expect(card.content.chapters[0]!.key).to.equal(nodeToChapter[story.startNodeId!]);
        for (const [key, id] of Object.entries(chapterToNode)) expect(nodeToChapter[id]).to.equal(key);
      }),
      { numRuns: 200 },
    );
  });

  it('the simulator and the compiled card agree on every path', () => {
    fc.assert(
      fc.property(storyArb, inputsArb, (story, inputs) => {
        const { card, chapterToNode } = compileToCard(story, { trackUrl: url });
        expect(playCard(card, chapterToNode, inputs)).to.deep.equal(simulate(story, inputs).path);
      }),
      { numRuns: 300 },
    );
  });

  it('Twee export then import gives the same story', () => {
    fc.assert(
      fc.property(storyArb, (story) => {
        expect(fromTwee(toTwee(story), { now: story.createdAt }).story).to.deep.equal(story);
      }),
      { numRuns: 200 },
    );
  });

  it('the validator never throws and is deterministic', () => {
    fc.assert(
      fc.property(storyArb, (story) => {
        expect(validateStory(story)).to.deep.equal(validateStory(story));
      }),
      { numRuns: 100 },
    );
  });
});
