import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { MAX_TWEE_BYTES, MAX_TWEE_PASSAGES } from '../../server/stories';
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
/** Counts the turns of the event loop from now (an immediate that schedules the next one), whatever the machine's speed; stop() answers the count. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let counting = true;
  const tick = (): void => {
    turns++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      counting = false;
      return turns;
    },
  };
}

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
    const turns = countTurns();
    const sliced = await importTwee(text, { now: '2026-01-01T00:00:00.000Z', userId: 'u' }, 0);
    expect(turns.stop(), 'event-loop turns while the import ran').to.be.greaterThan(10);
    expect(sliced).to.deep.equal(fromTwee(text, { now: '2026-01-01T00:00:00.000Z', userId: 'u' }));
    expect(sliced.story.nodes).to.have.length(2000);
  });

  it('answers health while the largest import the route accepts runs, and lets the event loop run many times before it answers', async () => {
    const text = largestTwee();
    expect(Buffer.byteLength(text)).to.be.within(MAX_TWEE_BYTES - 4096, MAX_TWEE_BYTES);
    const turns = countTurns();
    try {
      const importing = importText(text);
      const health = await fetch(`${hub!.url}/api/system/health`);
      expect([200, 503]).to.include(health.status);
      const answer = await importing;
      expect(answer.status, (await answer.clone().text()).slice(0, 300)).to.equal(201);
      // Parsing, the schema check, the store write, the findings and the answer are separate steps, each in its own
      // turn of the event loop (the route alone takes five): other work runs between them.
      expect(turns.stop(), 'event-loop turns while the import was on its way').to.be.at.least(5);
      const body = (await answer.json()) as { story: { id: string; nodes: unknown[]; connections: unknown[] }; importFindings: unknown[] };
      const alone = fromTwee(text, { userId: 'x' });
      expect(body.story.nodes).to.deep.equal(alone.story.nodes);
      expect(body.story.connections).to.deep.equal(alone.story.connections);
      expect(body.importFindings).to.deep.equal(alone.findings);
      const stored = await fetch(`${hub!.url}/api/stories/${body.story.id}`, { headers: { authorization: `Bearer ${member.accessToken}` } });
      expect(((await stored.json()) as { story: { nodes: unknown[] } }).story.nodes).to.have.length(MAX_TWEE_PASSAGES - 1);
    } finally {
      turns.stop();
    }
  });

  it(`refuses more than ${MAX_TWEE_PASSAGES} passages with 413 too_many_passages, without storing anything`, async () => {
    const before = await fetch(`${hub!.url}/api/stories`, { headers: { authorization: `Bearer ${member.accessToken}` } });
    const count = ((await before.json()) as { stories: unknown[] }).stories.length;
    const answer = await importText(largeTwee(MAX_TWEE_PASSAGES));
    expect(answer.status).to.equal(413);
    const body = (await answer.json()) as { error: { code: string; message: string; details: unknown[] } };
    expect(body.error.code).to.equal('too_many_passages');
    expect(body.error.message).to.contain(String(MAX_TWEE_PASSAGES));
    expect(body.error.details).to.be.an('array');
    const after = await fetch(`${hub!.url}/api/stories`, { headers: { authorization: `Bearer ${member.accessToken}` } });
    expect(((await after.json()) as { stories: unknown[] }).stories).to.have.length(count);
  });

  it('answers a bad Twee body with the same error as before (400 invalid_twee)', async () => {
    const answer = await importText('   ');
    expect(answer.status).to.equal(400);
    expect(((await answer.json()) as { error: { code: string } }).error.code).to.equal('invalid_twee');
  });
});

/** The largest file the route accepts: MAX_TWEE_PASSAGES passages (StoryTitle included) filling nearly MAX_TWEE_BYTES. */
function largestTwee(): string {
  const count = MAX_TWEE_PASSAGES - 1;
  const build = (filler: number): string => {
    const out = [':: StoryTitle', 'Biggest', ''];
    for (let i = 0; i < count; i++) {
      out.push(`:: P${i} [tag${i % 7}] {"position":"${i},${i}"}`, `Passage ${i} ${'[['.repeat(20)} ${' '.repeat(50)}[ ${'x'.repeat(filler)}`, `[[Left->P${i + 1}]] [[Right->P${(i * 7) % count}]]`, '');
    }
    return out.join('\n');
  };
  return build(Math.floor((MAX_TWEE_BYTES - Buffer.byteLength(build(0)) - 2048) / count));
}
