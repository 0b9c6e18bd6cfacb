import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { fromTwee, importTwee } from '../../server/stories/twee';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { inviteMember, onboardAdmin, type SignIn } from '../hub/api-world';

/** The 304-byte body that froze the hub for 27 s: a passage header of `::`, spaces and `[`. */
const FREEZER = `::${' '.repeat(301)}[`;

/** A large Twee file: `passages` passages with links, and lines made to trouble a backtracking parser. */
export function largeTwee(passages: number): string {
  const out = [':: StoryTitle', 'Big', ''];
  for (let i = 0; i < passages; i++) {
    out.push(`:: P${i} [tag${i % 7}] {"position":"${i},${i}"}`, `Passage ${i} ${'[['.repeat(20)} ${' '.repeat(50)}[`, `[[Left->P${i + 1}]] [[Right->P${(i * 7) % passages}]]`, '');
  }
  return out.join('\n');
}

/**
 * Issue 13 item 1 on the real hub: a Twee import can neither freeze the
 * process nor hold the event loop for the whole of a large file.
 */
describe('Twee import cannot freeze the hub', function () {
  let hub: Hub | undefined;
  let member: SignIn;

  before(async () => {
    hub = await startTestHub();
    const admin = await onboardAdmin(hub);
    member = await inviteMember(hub, admin, 'twine@example.org', 'Twine');
  });
  after(async () => stopTestHub(hub));

  const importText = (text: string): Promise<Response> =>
    fetch(`${hub!.url}/api/stories/import/twee`, { method: 'POST', headers: { authorization: `Bearer ${member.accessToken}`, 'content-type': 'text/plain' }, body: text });

  it(`imports the ${Buffer.byteLength(FREEZER)}-byte body while a concurrent health request is answered`, async () => {
    expect(Buffer.byteLength(FREEZER)).to.equal(304);
    const [imported, health] = await Promise.all([importText(FREEZER), fetch(`${hub!.url}/api/system/health`)]);
    expect(imported.status, await imported.clone().text()).to.equal(201);
    const { story } = (await imported.json()) as { story: { nodes: Array<{ title: string }> } };
    // The header is not of the `name [tags]` form, so the whole line is the name, as before.
    expect(story.nodes[0]!.title).to.equal('[');
    expect([200, 503]).to.include(health.status);
  });

  it('imports a large file in slices: other work runs between them, and the result is the one-piece import\'s', async () => {
    const text = largeTwee(2000);
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const sliced = await importTwee(text, { now: '2026-01-01T00:00:00.000Z', userId: 'u' }, 0);
    counting = false;
    expect(turns, 'event-loop turns while the import ran').to.be.greaterThan(10);
    expect(sliced).to.deep.equal(fromTwee(text, { now: '2026-01-01T00:00:00.000Z', userId: 'u' }));
    expect(sliced.story.nodes).to.have.length(2000);
  });

  it('answers health while a large import runs on the real hub, and the import succeeds', async () => {
    const text = largeTwee(3000);
    const importing = importText(text);
    const health = await fetch(`${hub!.url}/api/system/health`);
    expect([200, 503]).to.include(health.status);
    const answer = await importing;
    expect(answer.status, (await answer.clone().text()).slice(0, 300)).to.equal(201);
  });
});
