import { expect } from 'chai';
import { assertValidCard, validateCard } from '../../server/virtual/cards/validate-card';
import { getValidator } from '../../server/validation';
import {
  compileToCard,
  compileToFlow,
  fromTwee,
  isDeployable,
  runExpectations,
  simulate,
  toTwee,
  validateStory,
  type Story,
} from '../../server/stories';
import { at, importSpy, story } from './helpers';

const url = (node: { id: string }): string => `https://hub.example.com/api/stream/story/${node.id}?sig=abc`;

describe('story engine: the spyshort Twine fixture', () => {
  it('imports: passages, start, links in order to left / right / default, StoryInit ignored with a warning', () => {
    const { story: spy, findings } = importSpy();
    expect(spy.title).to.equal('Spy Mission Shortened Version');
    expect(spy.startNodeId).to.equal('Start');
    expect(spy.nodes.map((n) => n.id)).to.deep.equal(['Start', 'SolveRiddle', 'SearchElsewhere', 'End']);
    const links = spy.connections.map((c) => `${c.from}:${c.choice}->${c.to}`);
    expect(links).to.deep.equal([
      'Start:left->SolveRiddle',
      'Start:right->SearchElsewhere',
      'SolveRiddle:left->Start',
      'SolveRiddle:right->End',
      'SearchElsewhere:left->Start',
      'SearchElsewhere:default->End',
      'End:left->Start',
    ]);
    expect(spy.nodes.find((n) => n.id === 'End')!.audioFileId).to.equal(undefined);
    expect(spy.nodes.find((n) => n.id === 'Start')!.audioFileId).to.equal('audio-Start');
    expect(spy.nodes.find((n) => n.id === 'Start')!.prompt).to.match(/^You are Agent Alex/);
    const codes = findings.map((f) => `${f.code}:${f.nodeIds.join(',')}`).sort();
    // `[[|]]` is a placeholder and `[[|End]]` a normal link in Yoto's stories: neither is worth a warning.
    expect(codes).to.deep.equal(['no_audio:End', 'special_passage_ignored:'].sort());
    // StoryInit's $cover and $resumeTimeout are kept for the card, as Yoto's converter uses them.
    expect(spy.metadata?.['yotoCard']).to.deep.equal({ cover: 'https://cdn.yoto.io/myo-cover/cherries_yellow.gif', resumeTimeout: 1000 });
  });

  it('validates: End has no audio, End has only a left choice; the stored story passes its schema', () => {
    const { story: spy } = importSpy();
    getValidator().validate('cyoa-story', spy);
    const findings = validateStory(spy, { audioExists: () => true });
    expect(findings.map((f) => `${f.severity}:${f.code}:${f.nodeIds.join(',')}`).sort()).to.deep.equal(
      ['error:missing_audio:End', 'warning:one_side_missing:End', 'warning:one_side_missing:SearchElsewhere'].sort(),
    );
    expect(isDeployable(findings)).to.equal(false);
    expect(findings.find((f) => f.code === 'missing_audio')!.message).to.include('"End" has no recording');
  });

  it('compiles to an interactive card the virtual cloud accepts', () => {
    const { story: spy } = importSpy();
    const { card, chapterToNode, nodeToChapter } = compileToCard(spy, { trackUrl: url });
    expect(validateCard(card)).to.deep.equal([]);
    assertValidCard(card);
    expect(card.content.playbackType).to.equal('interactive');
    expect(card.content.editSettings?.interactiveContent).to.equal(true);
    expect(card.content.config).to.include({ autoadvance: 'none', disableTrackNav: true, disableChapterNav: true });
    expect(card.content.chapters.map((c) => c.key)).to.deep.equal(['01', '02', '03', '04']);
    expect(chapterToNode).to.deep.equal({ '01': 'Start', '02': 'SolveRiddle', '03': 'SearchElsewhere', '04': 'End' });
    const start = card.content.chapters[0]!.tracks[0]!;
    expect(start.type).to.equal('stream');
    expect(start.events).to.deep.equal({
      onLhb: { cmd: 'goto', params: { chapterKey: nodeToChapter['SolveRiddle'], trackKey: nodeToChapter['SolveRiddle'] } },
      onRhb: { cmd: 'goto', params: { chapterKey: '03', trackKey: '03' } },
      onEnd: { cmd: 'stop' },
    });
    expect(card.content.chapters[2]!.tracks[0]!.events!.onEnd).to.deep.equal({ cmd: 'goto', params: { chapterKey: '04', trackKey: '04' } });
  });

  it('keeps a passage\'s icon on its chapter and track, an uploaded one (yoto:#) or an https URL as the cloud names them', () => {
    const { story: spy } = importSpy();
    const icons: Record<string, string> = { Start: 'yoto:#aUBrt4Mf2oYC9NnK1-3fWkwdGc8', SolveRiddle: 'https://card-content.yotoplay.com/icons/riddle.png', SearchElsewhere: 'http://example.com/not-secure.png' };
    const story: Story = { ...spy, nodes: spy.nodes.map((node) => (icons[node.id] ? { ...node, icon: icons[node.id] } : node)) };
    const { card, nodeToChapter } = compileToCard(story, { trackUrl: url });
    const chapter = (nodeId: string) => card.content.chapters.find((c) => c.key === nodeToChapter[nodeId])!;
    for (const nodeId of ['Start', 'SolveRiddle']) {
      expect(chapter(nodeId).display, nodeId).to.deep.equal({ icon16x16: icons[nodeId] });
      expect(chapter(nodeId).tracks[0]!.display, nodeId).to.deep.equal({ icon16x16: icons[nodeId] });
    }
    expect(chapter('SearchElsewhere').display, 'an http icon, which the cloud refuses, is left out').to.equal(undefined);
    expect(validateCard(card)).to.deep.equal([]);
  });

  it('simulates presses and runs stored expectations', () => {
    const { story: spy } = importSpy();
    expect(simulate(spy, ['right', 'end']).path).to.deep.equal(['Start', 'SearchElsewhere', 'End']);
    const run = simulate(spy, ['left', 'right', 'right', 'end', 'left']);
    expect(run.path).to.deep.equal(['Start', 'SolveRiddle', 'End']);
    expect(run.ignored).to.deep.equal([2, 4]);
    expect(run.stopped).to.equal(true);
    const withCases: Story = {
      ...spy,
      expect: [
        { name: 'riddle', inputs: ['left', 'right'], path: ['Start', 'SolveRiddle', 'End'] },
        { name: 'wrong', inputs: ['left'], path: ['Start', 'End'] },
      ],
    };
    const result = runExpectations(withCases);
    expect(result.passed).to.equal(1);
    expect(result.failed).to.equal(1);
    expect(result.results[1]!.message).to.include('first difference at step 2');
  });

  it('exports to Twee and imports back to the same story', () => {
    const { story: spy } = importSpy();
    const again = fromTwee(toTwee(spy), { now: spy.createdAt }).story;
    expect(again).to.deep.equal(spy);
  });

  it('compiles to a Node-RED flow of play-script and cyoa-branch nodes', () => {
    const { story: spy } = importSpy();
    const flow = compileToFlow(spy, { hubId: 'hub1', deviceId: 'dev1' });
    const tab = flow.find((n) => n.type === 'tab')!;
    expect(flow.filter((n) => n.type === 'yoto-play-script')).to.have.length(4);
    expect(flow.filter((n) => n.type === 'yoto-cyoa-branch')).to.have.length(4);
    expect(flow.filter((n) => n.type === 'comment')).to.have.length(1);
    const ids = new Set(flow.map((n) => n.id));
    expect(ids.size).to.equal(flow.length);
    for (const node of flow) {
      if (node.type !== 'tab') expect(node.z).to.equal(tab.id);
      for (const wire of node.wires ?? []) for (const target of wire) expect(ids.has(target), `${node.id} -> ${target}`).to.equal(true);
    }
    const play = flow.find((n) => n.type === 'yoto-play-script' && n['storyNodeId'] === 'Start')!;
    expect(play).to.include({ hub: 'hub1', device: 'dev1', audioFileId: 'audio-Start' });
    const branch = flow.find((n) => n.type === 'yoto-cyoa-branch' && n['storyNodeId'] === 'SearchElsewhere')!;
    expect(branch['outputs']).to.equal(4);
    expect(branch).to.include({ mode: 'story', storyId: spy.id, storyNodeId: 'SearchElsewhere', hub: 'hub1', device: 'dev1' });
    expect(branch['choiceLabels']).to.have.keys(['left', 'right', 'end']);
    const endPlay = flow.find((n) => n.type === 'yoto-play-script' && n['storyNodeId'] === 'End')!;
    expect(branch.wires![2]).to.deep.equal([endPlay.id]);
    expect(JSON.parse(JSON.stringify(flow))).to.deep.equal(flow);
  });
});

describe('story engine: validator on planted defects', () => {
  it('reports exactly the planted problems', () => {
    const n = (id: string, extra: Partial<Story['nodes'][number]> = {}): Story['nodes'][number] => ({ id, title: id.toUpperCase(), audioFileId: `a-${id}`, position: at(), ...extra });
    const s = story({
      startNodeId: 'start',
      nodes: [
        n('start'),
        n('a'), // only left: one side missing
        n('b'), // both sides to the same node
        n('dead'), // dead end
        n('end', { ending: true }),
        n('mute', { audioFileId: undefined, ending: true }), // no audio
        n('gone', { audioFileId: 'a-gone' }), // unreadable audio
        n('loop1'),
        n('loop2'), // loop1 <-> loop2 automatic, no way to stop
        n('island', { ending: true }), // unreachable
        n('start'), // duplicate id
        n('two'), // end + default
        n('bad id!', { ending: true, audioFileId: 'a-bad' }), // unsafe id (unreachable too)
      ],
      connections: [
        { id: 'c1', from: 'start', to: 'a', choice: 'left' },
        { id: 'c2', from: 'start', to: 'b', choice: 'right' },
        { id: 'c3', from: 'start', to: 'nowhere', choice: 'end' }, // missing node
        { id: 'c4', from: 'a', to: 'dead', choice: 'left' },
        { id: 'c5', from: 'b', to: 'end', choice: 'left' },
        { id: 'c6', from: 'b', to: 'end', choice: 'right' },
        { id: 'c7', from: 'b', to: 'mute', choice: 'default', timeoutSeconds: 10 },
        { id: 'c8', from: 'end', to: 'gone', choice: 'left', timeoutSeconds: 5 }, // timeout without default
        { id: 'c9', from: 'end', to: 'loop1', choice: 'right' },
        { id: 'c10', from: 'loop1', to: 'loop2', choice: 'end' },
        { id: 'c11', from: 'loop2', to: 'loop1', choice: 'end' },
        { id: 'c12', from: 'gone', to: 'two', choice: 'left' },
        { id: 'c13', from: 'gone', to: 'two', choice: 'left' }, // two lefts
        { id: 'c14', from: 'gone', to: 'end', choice: 'right' },
        { id: 'c15', from: 'two', to: 'end', choice: 'end' },
        { id: 'c16', from: 'two', to: 'mute', choice: 'default' },
      ],
    });
    const found = validateStory(s, { audioExists: (id) => id !== 'a-gone' }).map((f) => `${f.severity}:${f.code}:${f.nodeIds.join(',')}`);
    expect(found.sort()).to.deep.equal(
      [
        'error:duplicate_id:start',
        'error:unsafe_id:bad id!',
        'error:missing_node:start',
        'error:timeout_without_default:end',
        'error:too_many_choices:gone',
        'error:too_many_choices:two',
        'error:dead_end:dead',
        'warning:one_side_missing:a',
        'warning:same_target:b',
        'error:missing_audio:mute',
        'error:audio_unreadable:gone',
        'warning:unreachable:island,bad id!',
        'error:no_way_to_end:loop1,loop2',
      ].sort(),
    );
  });

  it('reports a missing start, and size warnings for young listeners', () => {
    expect(validateStory(story({ nodes: [{ id: 'x', title: 'X', audioFileId: 'a', ending: true, position: at() }], connections: [] })).map((f) => f.code)).to.deep.equal(['missing_start']);
    const chain = story({
      startNodeId: 'n0',
      nodes: Array.from({ length: 70 }, (_, i) => ({ id: `n${i}`, title: `N${i}`, audioFileId: 'a', position: at(i), ...(i === 69 ? { ending: true } : {}) })),
      connections: Array.from({ length: 69 }, (_, i) => ({ id: `c${i}`, from: `n${i}`, to: `n${i + 1}`, choice: 'end' as const })),
    });
    expect(validateStory(chain).map((f) => `${f.code}:${f.nodeIds.join(',')}`)).to.deep.equal(['too_many_nodes:', 'too_deep:n69']);
  });
});
