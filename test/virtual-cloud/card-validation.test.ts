import { expect } from 'chai';
import { describeIssues, validateCard } from '../../server/virtual/cards/validate-card';
import type { CardInput } from '../../server/yoto/card';
import { interactiveCard, linearCard, streamTrack } from '../yoto-rest/sample-cards';

function paths(card: unknown): string[] {
  return validateCard(card).map((issue) => issue.path);
}

describe('virtual cloud card validation', () => {
  it('accepts a linear playlist and an interactive story as Yoto\'s converter writes them', () => {
    expect(validateCard(linearCard())).to.deep.equal([]);
    expect(validateCard(interactiveCard())).to.deep.equal([]);
  });

  it('accepts keys padded to a common width beyond two digits', () => {
    const card = linearCard();
    card.content.chapters = Array.from({ length: 3 }, (_, i) => ({
      key: String(i + 98).padStart(3, '0'), title: `Part ${i}`, tracks: [streamTrack('01', `Part ${i}`)],
    }));
    expect(validateCard(card)).to.deep.equal([]);
    card.content.chapters[0]!.key = '98';
    expect(validateCard(card)[0]!.message).to.equal('"98" is not zero-padded like the other keys (expected "098")');
  });

  it('refuses a body that is not a card', () => {
    expect(validateCard('card')).to.deep.equal([{ path: '', message: 'the card must be a JSON object' }]);
    expect(paths({ title: 'No content' })).to.deep.equal(['content']);
    expect(paths({ title: 'x', content: { chapters: 'none' } })).to.deep.equal(['content.chapters']);
  });

  it('refuses out-of-range and mistyped values, each with its field', () => {
    const card = linearCard() as CardInput & Record<string, unknown>;
    card.cardId = 'toolong';
    card.title = 'x'.repeat(101);
    card.content.config = { resumeTimeout: -1, autoadvance: 'sometimes', onlineOnly: 'yes' as never };
    card.content.chapters[0]!.tracks[0] = { ...streamTrack('01', 'Owl'), duration: -5, fileSize: 1.5, format: 'wma' };
    expect(paths(card)).to.deep.equal([
      'cardId',
      'title',
      'content.config.autoadvance',
      'content.config.resumeTimeout',
      'content.config.onlineOnly',
      'content.chapters[0].tracks[0].format',
      'content.chapters[0].tracks[0].duration',
      'content.chapters[0].tracks[0].fileSize',
    ]);
  });

  it('refuses track URLs that cannot play: a stream needs http(s), uploaded audio needs yoto:# (or the https URL the cloud signed)', () => {
    const card = linearCard();
    card.content.chapters[0]!.tracks[0]!.trackUrl = 'ftp://hub/one.mp3';
    card.content.chapters[1]!.tracks[0] = { ...streamTrack('01', 'Fox'), type: 'audio', trackUrl: 'fox.mp3' };
    const issues = validateCard(card);
    expect(issues.map((issue) => issue.path)).to.deep.equal(['content.chapters[0].tracks[0].trackUrl', 'content.chapters[1].tracks[0].trackUrl']);
    expect(issues[1]!.message).to.contain('yoto:#<transcodedSha256>');
  });

  it('refuses icons that are neither yoto:# references nor https URLs, and events players do not know', () => {
    const card = interactiveCard();
    const track = card.content.chapters[0]!.tracks[1]!;
    track.display = { icon16x16: 'icon.png' };
    (track.events as Record<string, unknown>).onDoubleClick = { cmd: 'stop' };
    track.events!.onEnd = { cmd: 'jump' } as never;
    expect(paths(card)).to.deep.equal([
      'content.chapters[0].tracks[1].display.icon16x16',
      'content.chapters[0].tracks[1].events.onEnd.cmd',
      'content.chapters[0].tracks[1].events.onDoubleClick',
    ]);
  });

  it('refuses duplicate and unpadded track keys within a chapter', () => {
    const card = interactiveCard();
    card.content.chapters[0]!.tracks[2]!.key = '2';
    card.content.chapters[0]!.tracks[1]!.key = '01';
    const issues = validateCard(card);
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).to.include.members([
      'content.chapters[0].tracks[1].key: "01" is already the key of content.chapters[0].tracks[0]',
      'content.chapters[0].tracks[2].key: "2" is not zero-padded like the other keys (expected "02")',
    ]);
  });

  it('refuses a goto to a chapter that is not on the card, and an empty chapter', () => {
    const card = interactiveCard();
    card.content.chapters[0]!.tracks[0]!.events!.onLhb = { cmd: 'goto', params: { chapterKey: '02', trackKey: '01' } };
    card.content.chapters.push({ key: '03', title: 'Empty', tracks: [] });
    const issues = validateCard(card);
    expect(issues.map((issue) => issue.path)).to.deep.equal(['content.chapters[1].tracks', 'content.chapters[0].tracks[0].events.onLhb.params.chapterKey']);
    expect(describeIssues(issues)).to.equal('content.chapters[1].tracks: must be an array with at least one track (got []) (and 1 more problem)');
  });
});
