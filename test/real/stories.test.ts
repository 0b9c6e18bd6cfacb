import { expect } from 'chai';
import { compileToCard } from '../../server/stories/compile-card';
import type { Story } from '../../server/stories/model';
import { fromTwee } from '../../server/stories/twee';
import { isDeployable, validateStory } from '../../server/stories/validate';
import { validateCard } from '../../server/virtual/cards/validate-card';
import type { CardEvent } from '../../server/yoto/card';
import { storyItems, type ReferenceCard } from './corpus';

type Action = string;

/** One button or end-of-audio action, by passage name: "goto <passage>" or "stop" (or "none"). */
function referenceActions(reference: ReferenceCard): Map<string, Record<'onLhb' | 'onRhb' | 'onEnd', Action>> {
  const actions = new Map<string, Record<'onLhb' | 'onRhb' | 'onEnd', Action>>();
  for (const chapter of reference.content.chapters) {
    const events = chapter.tracks[0]!.events;
    const describe = (event: { cmd: string; params?: { chapterKey: string } } | undefined): Action =>
      event === undefined ? 'none' : event.cmd === 'goto' ? `goto ${event.params!.chapterKey}` : event.cmd;
    actions.set(chapter.key, { onLhb: describe(events['onLhb']), onRhb: describe(events['onRhb']), onEnd: describe(events['onEnd']) });
  }
  return actions;
}

function importWithAudio(twee: string): Story {
  // Every passage has its recording, as after upload: only the story's own shape is judged.
  return fromTwee(twee, { audioFor: (name) => `audio-${name.replace(/[^A-Za-z0-9_-]/g, '_')}` }).story;
}

describe('real corpus: Twine stories against the cards Yoto\'s converter makes of them', function () {
  for (const { name, twee, reference } of storyItems()) {
    describe(name, () => {
      const story = importWithAudio(twee);
      const findings = validateStory(story);
      const compiled = compileToCard(story, { trackUrl: (node) => `yoto:#${node.audioFileId}` });
      const card = compiled.card;
      const passageOf = (chapterKey: string): string => story.nodes.find((node) => node.id === compiled.chapterToNode[chapterKey])!.title;
      const ours = new Map<string, Record<'onLhb' | 'onRhb' | 'onEnd', Action>>();
      for (const chapter of card.content.chapters) {
        const events = chapter.tracks[0]!.events ?? {};
        const describe = (event: CardEvent | undefined): Action => (event === undefined ? 'none' : event.cmd === 'goto' ? `goto ${passageOf(event.params.chapterKey)}` : event.cmd);
        ours.set(passageOf(chapter.key), { onLhb: describe(events.onLhb), onRhb: describe(events.onRhb), onEnd: describe(events.onEnd) });
      }
      const theirs = referenceActions(reference);

      it('imports with no error that blocks deploy', () => {
        expect(findings.filter((finding) => finding.severity === 'error'), JSON.stringify(findings.filter((f) => f.severity === 'error'))).to.deep.equal([]);
        expect(isDeployable(findings)).to.equal(true);
      });

      it('starts where the converter\'s card starts', () => {
        expect(passageOf(card.content.chapters[0]!.key)).to.equal(reference.content.chapters[0]!.key);
      });

      it('does the same on every passage both cards have: left, right and end of audio', () => {
        const shared = [...ours.keys()].filter((passage) => theirs.has(passage));
        expect(shared.length, 'passages in both cards').to.equal(ours.size);
        for (const passage of shared) expect(ours.get(passage), passage).to.deep.equal(theirs.get(passage));
      });

      it('has the converter\'s playback flags, resumeTimeout and cover', () => {
        expect(card.content.playbackType).to.equal(reference.content.playbackType);
        expect(card.content.config).to.deep.include(reference.content.config);
        expect(card.metadata?.cover?.imageL).to.equal(reference.metadata.cover.imageL);
      });

      it('passes the virtual cloud\'s checks, and so does the converter\'s card once its audio is uploaded (keys as passage names)', () => {
        expect(validateCard(card)).to.deep.equal([]);
        const uploaded = structuredClone(reference) as unknown as { content: { chapters: Array<{ tracks: Array<{ trackUrl: string }> }> } };
        uploaded.content.chapters.forEach((chapter, i) => chapter.tracks.forEach((track) => (track.trackUrl = `yoto:#uploaded${i}`)));
        expect(validateCard(uploaded)).to.deep.equal([]);
      });
    });
  }

  it('reads [[]] placeholders as the converter does: a passage of only [[]] links is an ending, with no warning per link', () => {
    const spy2 = storyItems().find((item) => item.name === 'spy2')!;
    const { story, findings } = fromTwee(spy2.twee);
    const endings = story.nodes.filter((node) => node.ending);
    expect(endings.length).to.be.greaterThan(0);
    const reference = referenceActions(spy2.reference);
    for (const node of endings) expect(reference.get(node.title), node.title).to.deep.equal({ onLhb: 'none', onRhb: 'none', onEnd: 'stop' });
    expect(findings.filter((finding) => finding.code === 'empty_link')).to.deep.equal([]);
    expect(findings.map((finding) => finding.code)).to.not.include('empty_label');
  });
});

describe('story validator: ways to an ending', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const story = (nodes: Story['nodes'], connections: Story['connections']): Story => ({ id: 's', userId: 'u', title: 'Loop', startNodeId: 'start', nodes, connections, createdAt: at, updatedAt: at });
  const node = (id: string, ending?: boolean): Story['nodes'][number] => ({ id, title: id, audioFileId: `a-${id}`, position: { x: 0, y: 0 }, ...(ending ? { ending } : {}) });
  const link = (from: string, choice: 'left' | 'right' | 'end' | 'default', to: string): Story['connections'][number] => ({ id: `${from}-${choice}`, from, choice, to });

  it('names both passages of a button loop a listener can enter but never leave for an ending', () => {
    const findings = validateStory(story(
      [node('start'), node('ping'), node('pong'), node('home', true)],
      [link('start', 'left', 'ping'), link('start', 'right', 'home'), link('ping', 'left', 'pong'), link('ping', 'right', 'pong'), link('pong', 'left', 'ping'), link('pong', 'right', 'ping')],
    ));
    const trapped = findings.filter((finding) => finding.code === 'no_way_to_end');
    expect(trapped).to.have.length(1);
    expect(trapped[0]!.severity).to.equal('error');
    expect(trapped[0]!.nodeIds).to.have.members(['ping', 'pong']);
    expect(trapped[0]!.message).to.contain('"ping"').and.contain('"pong"');
  });

  it('finds nothing of the kind in a clean story, and no dead end on a passage no one can reach', () => {
    const findings = validateStory(story(
      [node('start'), node('ping'), node('home', true), node('orphan')],
      [link('start', 'left', 'ping'), link('start', 'right', 'home'), link('ping', 'left', 'start'), link('ping', 'right', 'home')],
    ));
    expect(findings.filter((finding) => finding.severity === 'error')).to.deep.equal([]);
    expect(findings.map((finding) => finding.code)).to.not.include('dead_end');
    expect(findings.map((finding) => finding.code)).to.include('unreachable');
  });
});
