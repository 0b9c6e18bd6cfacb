import { expect } from 'chai';
import { CardDirectory } from '../../server/cards/card-directory';
import type { FamilyCard } from '../../server/cards/family-library';
import type { YotoCard } from '../../server/yoto/card';

const ROCKETS: FamilyCard = { cardId: 'vbSpace0001', title: 'Rockets and Planets', kind: 'bought', author: 'Virtual Science', cover: 'https://cdn.example/rockets.png', groups: [] };
const LULLABIES: FamilyCard = { cardId: 'vbLullaby01', title: 'Lullabies for Little Ones', kind: 'bought', groups: [] };
const OWN_CARD: YotoCard = { cardId: 'hub01', title: 'Our bedtime', metadata: { author: 'The hub', cover: { imageL: 'javascript:alert(1)' } }, content: { chapters: [] } };

/** A directory over a family library and a cloud that count what they were asked. */
function world(options: { family?: FamilyCard[]; cards?: YotoCard[]; familyFails?: boolean } = {}) {
  const asked = { family: 0, cards: [] as string[] };
  let now = 0;
  let scope: object = {};
  const directory = new CardDirectory({
    familyCards: async () => {
      asked.family++;
      if (options.familyFails) throw new Error('the library is away');
      return options.family ?? [ROCKETS, LULLABIES];
    },
    getCard: async (cardId) => {
      asked.cards.push(cardId);
      return (options.cards ?? [OWN_CARD]).find((card) => card.cardId === cardId);
    },
    scope: () => scope,
    now: () => now,
    missRetryMs: 60_000,
  });
  return {
    directory,
    asked,
    advance: (ms: number) => void (now += ms),
    switchCloud: () => void (scope = {}),
  };
}

describe('card directory: what a card is, by its id', () => {
  it('describes a family card from the library, and remembers the whole library at once', async () => {
    const { directory, asked } = world();
    expect(await directory.describe('vbSpace0001')).to.deep.equal({ title: 'Rockets and Planets', author: 'Virtual Science', cover: 'https://cdn.example/rockets.png' });
    expect(directory.get('vbLullaby01'), 'the other library cards too').to.deep.equal({ title: 'Lullabies for Little Ones' });
    expect(asked).to.deep.equal({ family: 1, cards: [] });
  });

  it('reads a card that is not in the library from the card itself, keeping only a cover that is an image URL', async () => {
    const { directory, asked } = world();
    expect(await directory.describe('hub01')).to.deep.equal({ title: 'Our bedtime', author: 'The hub' });
    expect(asked.cards).to.deep.equal(['hub01']);
    await directory.describe('hub01');
    expect(asked.cards, 'then from memory').to.deep.equal(['hub01']);
  });

  it('asks once for concurrent lookups, and not again for a card nobody describes until the retry time has passed', async () => {
    const { directory, asked, advance } = world();
    const answers = await Promise.all([directory.describe('nobody'), directory.describe('nobody'), directory.describe('nobody')]);
    expect(answers).to.deep.equal([undefined, undefined, undefined]);
    expect(asked.cards).to.deep.equal(['nobody']);
    advance(59_000);
    expect(await directory.describe('nobody')).to.equal(undefined);
    expect(asked.cards, 'within the retry time').to.deep.equal(['nobody']);
    advance(2_000);
    await directory.describe('nobody');
    expect(asked.cards, 'after it').to.deep.equal(['nobody', 'nobody']);
  });

  it('falls back to the card itself when the library cannot be read', async () => {
    const { directory } = world({ familyFails: true, cards: [{ ...OWN_CARD, cardId: 'vbSpace0001', title: 'Rockets (from the card)' }] });
    expect((await directory.describe('vbSpace0001'))?.title).to.equal('Rockets (from the card)');
  });

  it('forgets what it knew when the cloud in use changes', async () => {
    const { directory, switchCloud } = world();
    await directory.learnFamily();
    expect(directory.get('vbSpace0001')).to.not.equal(undefined);
    switchCloud();
    expect(directory.get('vbSpace0001')).to.equal(undefined);
  });
});
