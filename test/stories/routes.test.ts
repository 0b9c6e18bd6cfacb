import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Hub } from '../../server/hub';
import type { Story } from '../../server/stories';
import type { Script, StoryCard } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { snapshotWhen } from '../helpers/virtual-player';
import { spyDir, spyTwee } from './helpers';

const PLAYER = 'vkids0bedroom0yoto0mini0';

interface SignIn {
  accessToken: string;
  user: { id: string; role: string };
}
interface Finding {
  severity: 'error' | 'warning';
  code: string;
  nodeIds: string[];
}
interface ErrorBody {
  error: { code: string; message: string; details: Array<{ path: string; message: string }> };
  findings?: Finding[];
}

/** The /api/stories routes through the real hub: accounts, store, library, scripts, virtual cloud. */
describe('stories API through the hub (/api/stories)', function () {
  this.timeout(60_000);
  let hub: Hub;
  let admin: SignIn;
  let member: SignIn;
  let other: SignIn;

  const call = async <T = Record<string, unknown>>(token: string | undefined, method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: T; text: string; headers: Headers }> => {
    const res = await fetch(`${hub.url}/api${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json = {} as T;
    if (text && (res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(text) as T;
    return { status: res.status, json, text, headers: res.headers };
  };
  const invite = async (email: string, name: string): Promise<SignIn> => {
    const invitation = await call<{ invitationToken: string }>(admin.accessToken, 'POST', '/auth/invitations', { email, role: 'member' });
    expect(invitation.status, invitation.text).to.be.oneOf([200, 201]);
    const registered = await call<SignIn>(undefined, 'POST', '/auth/register', { invitationToken: invitation.json.invitationToken, name, password: 'a long enough secret' });
    expect(registered.status, registered.text).to.equal(201);
    return registered.json;
  };

  const tiny = (title: string): Record<string, unknown> => ({
    title,
    startNodeId: 'a',
    nodes: [
      { id: 'a', title: 'A', position: { x: 0, y: 0 } },
      { id: 'b', title: 'B', position: { x: 100, y: 0 } },
    ],
    connections: [{ id: 'c1', from: 'a', to: 'b', choice: 'left' }],
    expect: [
      { name: 'left reaches b', inputs: ['left'], path: ['a', 'b'] },
      { name: 'wrong on purpose', inputs: ['left'], path: ['a'] },
    ],
  });

  before(async () => {
    hub = await startTestHub();
    const onboarding = await call<SignIn>(undefined, 'POST', '/auth/onboarding', { email: 'parent@example.org', name: 'Parent', password: 'correct horse battery' });
    expect(onboarding.status, onboarding.text).to.equal(201);
    admin = onboarding.json;
    member = await invite('aunt@example.org', 'Aunt');
    other = await invite('uncle@example.org', 'Uncle');
  });
  after(async () => {
    await stopTestHub(hub);
  });

  it('needs a session', async () => {
    expect((await call(undefined, 'GET', '/stories')).status).to.equal(401);
    expect((await call(undefined, 'POST', '/stories', tiny('x'))).status).to.equal(401);
  });

  it('CRUD of a member\'s own story, with findings', async () => {
    const created = await call<{ story: Story; findings: Finding[] }>(member.accessToken, 'POST', '/stories', { ...tiny('Tiny'), id: 'mine', userId: 'someone-else' });
    expect(created.status, created.text).to.equal(201);
    const story = created.json.story;
    expect(story.id, 'the server chooses the id').to.not.equal('mine');
    expect(story.userId).to.equal(member.user.id);
    expect(created.json.findings.map((f) => f.code)).to.include('missing_audio');

    const list = await call<{ stories: Story[] }>(member.accessToken, 'GET', '/stories');
    expect(list.json.stories.map((s) => s.id)).to.deep.equal([story.id]);

    const got = await call<{ story: Story; findings: Finding[] }>(member.accessToken, 'GET', `/stories/${story.id}`);
    expect(got.status).to.equal(200);
    expect(got.json.story.title).to.equal('Tiny');

    const findings = await call<{ deployable: boolean; findings: Finding[] }>(member.accessToken, 'GET', `/stories/${story.id}/findings`);
    expect(findings.json.deployable).to.equal(false);

    const updated = await call<{ story: Story }>(member.accessToken, 'PUT', `/stories/${story.id}`, { ...tiny('Renamed'), userId: 'hijack' });
    expect(updated.status, updated.text).to.equal(200);
    expect(updated.json.story).to.include({ id: story.id, title: 'Renamed', userId: member.user.id, createdAt: story.createdAt });

    expect((await call(member.accessToken, 'DELETE', `/stories/${story.id}`)).status).to.equal(204);
    expect((await call(member.accessToken, 'GET', `/stories/${story.id}`)).status).to.equal(404);
  });

  it('another member gets 404 for every route of a story; the admin sees it', async () => {
    const created = await call<{ story: Story }>(member.accessToken, 'POST', '/stories', tiny('Private'));
    const id = created.json.story.id;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', `/stories/${id}`],
      ['GET', `/stories/${id}/findings`],
      ['PUT', `/stories/${id}`, tiny('Taken')],
      ['DELETE', `/stories/${id}`],
      ['POST', `/stories/${id}/test`],
      ['POST', `/stories/${id}/deploy`, { deviceId: PLAYER }],
      ['GET', `/stories/${id}/twee`],
      ['GET', `/stories/${id}/flow?deviceId=${PLAYER}`],
    ];
    for (const [method, url, body] of routes) {
      const res = await call<ErrorBody>(other.accessToken, method, url, body);
      expect(res.status, `${method} ${url}`).to.equal(404);
      expect(res.json.error.code).to.equal('not_found');
    }
    expect((await call<{ stories: Story[] }>(other.accessToken, 'GET', '/stories')).json.stories.map((s) => s.id)).to.not.include(id);
    expect((await call<{ stories: Story[] }>(admin.accessToken, 'GET', '/stories')).json.stories.map((s) => s.id)).to.include(id);
    expect((await call(admin.accessToken, 'GET', `/stories/${id}`)).status).to.equal(200);
    expect(hub.store.stories.get(id)?.title).to.equal('Private');
  });

  it('validation errors are 400 and name the fields', async () => {
    const res = await call<ErrorBody>(member.accessToken, 'POST', '/stories', { title: '', nodes: 'none', connections: [{ from: 'a' }], colour: 'red' });
    expect(res.status).to.equal(400);
    expect(res.json.error.code).to.equal('validation_failed');
    const paths = res.json.error.details.map((d) => d.path).join(' ');
    for (const field of ['title', 'nodes', 'connections', 'colour']) expect(paths, field).to.include(field);

    const notObject = await call<ErrorBody>(member.accessToken, 'POST', '/stories', [1, 2]);
    expect(notObject.status).to.equal(400);

    const created = await call<{ story: Story }>(member.accessToken, 'POST', '/stories', tiny('Valid'));
    const badUpdate = await call<ErrorBody>(member.accessToken, 'PUT', `/stories/${created.json.story.id}`, { ...tiny('Valid'), nodes: [{ id: 'a' }] });
    expect(badUpdate.status).to.equal(400);
    expect(badUpdate.json.error.details.map((d) => d.path).join(' ')).to.include('nodes');

    const noDevice = await call<ErrorBody>(member.accessToken, 'POST', `/stories/${created.json.story.id}/deploy`, {});
    expect(noDevice.status).to.equal(400);
    expect(noDevice.json.error.message).to.include('deviceId');
    const noFlowDevice = await call<ErrorBody>(member.accessToken, 'GET', `/stories/${created.json.story.id}/flow`);
    expect(noFlowDevice.status).to.equal(400);
    expect(noFlowDevice.json.error.message).to.include('deviceId');
  });

  it('POST /:id/test runs the story\'s expectations', async () => {
    const created = await call<{ story: Story }>(member.accessToken, 'POST', '/stories', tiny('Tested'));
    const res = await call<{ passed: number; failed: number; results: Array<{ name: string; passed: boolean }> }>(member.accessToken, 'POST', `/stories/${created.json.story.id}/test`);
    expect(res.status, res.text).to.equal(200);
    expect(res.json).to.include({ passed: 1, failed: 1 });
    expect(res.json.results.map((r) => [r.name, r.passed])).to.deep.equal([
      ['left reaches b', true],
      ['wrong on purpose', false],
    ]);
  });

  describe('the spyshort story from Twee', () => {
    let spy: Story;

    it('POST /import/twee makes a story of the text', async () => {
      const res = await call<{ story: Story; importFindings: Array<{ code: string }>; findings: Finding[] }>(member.accessToken, 'POST', '/stories/import/twee', spyTwee(), 'text/plain');
      expect(res.status, res.text).to.equal(201);
      spy = res.json.story;
      expect(spy.title).to.equal('Spy Mission Shortened Version');
      expect(spy.userId).to.equal(member.user.id);
      expect(spy.startNodeId).to.equal('Start');
      expect(spy.nodes.map((n) => n.title).sort()).to.deep.equal(['End', 'SearchElsewhere', 'SolveRiddle', 'Start']);
      expect(res.json.importFindings.map((f) => f.code)).to.include('special_passage_ignored');
      const empty = await call<ErrorBody>(member.accessToken, 'POST', '/stories/import/twee', '   ', 'text/plain');
      expect(empty.status).to.equal(400);
    });

    it('GET /:id/twee exports Twee 3 that names every passage', async () => {
      const res = await call(member.accessToken, 'GET', `/stories/${spy.id}/twee`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      expect(res.headers.get('content-disposition')).to.include(`${spy.id}.twee`);
      for (const passage of ['Start', 'SolveRiddle', 'SearchElsewhere', 'End']) expect(res.text).to.include(`:: ${passage}`);
    });

    it('GET /:id/flow compiles a Node-RED flow for a player', async () => {
      const res = await call<Array<{ type: string }>>(member.accessToken, 'GET', `/stories/${spy.id}/flow?deviceId=${PLAYER}`);
      expect(res.status, res.text).to.equal(200);
      const types = (Array.isArray(res.json) ? res.json : ((res.json as unknown as { nodes?: Array<{ type: string }> }).nodes ?? [])).map((n) => n.type);
      expect(types).to.include('yoto-play-script');
      expect(types).to.include('yoto-cyoa-branch');
    });

    it('GET /:id/flow?hubId= names the yoto-hub node a remote or stand-alone hub is reached by, and refuses an id that is not one', async () => {
      const res = await call<Array<{ type: string; hub?: string }>>(member.accessToken, 'GET', `/stories/${spy.id}/flow?deviceId=${PLAYER}&hubId=my.hub-1`);
      expect(res.status, res.text).to.equal(200);
      expect(res.json.filter((n) => n.type === 'yoto-play-script').map((n) => n.hub)).to.satisfy((hubs: string[]) => hubs.length > 0 && hubs.every((hub) => hub === 'my.hub-1'));
      const bad = await call<ErrorBody>(member.accessToken, 'GET', `/stories/${spy.id}/flow?deviceId=${PLAYER}&hubId=${encodeURIComponent('"><script>')}`);
      expect(bad.status).to.equal(400);
      expect(bad.json.error.details[0]?.path).to.equal('/query/hubId');
    });

    it('POST /:id/deploy is refused with 422 and the findings while the story has errors', async () => {
      const res = await call<ErrorBody>(member.accessToken, 'POST', `/stories/${spy.id}/deploy`, { deviceId: PLAYER });
      expect(res.status).to.equal(422);
      expect(res.json.error.code).to.equal('story_invalid');
      const missing = (res.json.findings ?? []).filter((f) => f.severity === 'error' && f.code === 'missing_audio');
      expect(missing.flatMap((f) => f.nodeIds).sort()).to.deep.equal(['End', 'SearchElsewhere', 'SolveRiddle', 'Start']);
      expect(hub.store.scripts.list((s) => s.type === 'cyoa' && s.definition.storyId === spy.id)).to.deep.equal([]);
    });

    it('GET /:id/card shows the findings and why no card can be built while a passage has no audio', async () => {
      const res = await call<StoryCard>(member.accessToken, 'GET', `/stories/${spy.id}/card`);
      expect(res.status, res.text).to.equal(200);
      getValidator().validate('story-card', res.json);
      expect(res.json).to.include({ storyId: spy.id, deployable: false, card: null });
      expect(res.json.cardError?.code).to.equal('missing_reference');
      expect(res.json.findings.map((f) => f.code)).to.include('missing_audio');
      expect((await call(other.accessToken, 'GET', `/stories/${spy.id}/card`)).status).to.equal(404);
      expect((await call(member.accessToken, 'GET', `/stories/${spy.id}/card?deviceId=no/such`)).status).to.equal(400);
    });

    it('POST /:id/deploy puts a valid story on a virtual player', async () => {
      const fileOf = new Map<string, string>();
      for (const file of fs.readdirSync(path.join(spyDir, 'audio'))) {
        const imported = await hub.library.files.importFile(path.join(spyDir, 'audio', file), { userId: member.user.id });
        fileOf.set(path.basename(file, '.mp3'), imported.id);
      }
      fileOf.set('End', fileOf.get('SolveRiddle')!);
      const { id: _id, userId: _u, createdAt: _c, updatedAt: _up, ...body } = spy;
      const withAudio = { ...body, nodes: spy.nodes.map((node) => ({ ...node, audioFileId: fileOf.get(node.title)! })) };
      const updated = await call<{ story: Story; findings: Finding[] }>(member.accessToken, 'PUT', `/stories/${spy.id}`, withAudio);
      expect(updated.status, updated.text).to.equal(200);
      expect(updated.json.findings.filter((f) => f.severity === 'error'), JSON.stringify(updated.json.findings)).to.deep.equal([]);

      // A member deploys only to a player registered to them.
      const claimed = await call(member.accessToken, 'POST', '/devices', { deviceId: PLAYER, name: 'Kids' });
      expect(claimed.status, claimed.text).to.equal(201);
      const res = await call<{ deployed: boolean; result: { cardId: string; deviceId: string } }>(member.accessToken, 'POST', `/stories/${spy.id}/deploy`, { deviceId: PLAYER });
      expect(res.status, res.text).to.equal(200);
      expect(res.json.deployed).to.equal(true);
      const script = hub.store.scripts.list((s): s is Script => s.type === 'cyoa' && s.definition.storyId === spy.id)[0]!;
      expect(script.userId).to.equal(member.user.id);
      expect(script.cardId).to.equal(res.json.result.cardId);
      const player = hub.cloud.virtualCloud!.fleet.player(PLAYER)!;
      const playing = await snapshotWhen(player, (snapshot) => snapshot.cardId === script.cardId);
      expect(playing).to.include({ cardId: script.cardId, chapterKey: '01' });

      // The preview is the card deploy uploaded: same chapters, events, settings, card id.
      const preview = await call<StoryCard>(member.accessToken, 'GET', `/stories/${spy.id}/card?deviceId=${PLAYER}`);
      expect(preview.status, preview.text).to.equal(200);
      getValidator().validate('story-card', preview.json);
      expect(preview.json.deployable).to.equal(true);
      const uploaded = hub.cloud.virtualCloud!.cards.get(script.cardId!)!;
      const shape = (card: { content: { chapters: Array<{ key: string; title: string; tracks: Array<{ events?: unknown }> }>; config?: unknown } }) =>
        card.content.chapters.map((chapter) => ({ key: chapter.key, title: chapter.title, events: chapter.tracks[0]!.events }));
      const previewCard = preview.json.card as unknown as Parameters<typeof shape>[0] & { cardId?: string; metadata?: { cover?: { imageL?: string } } };
      expect(shape(previewCard)).to.deep.equal(shape(uploaded));
      expect(previewCard.cardId).to.equal(script.cardId);
      expect(previewCard.content.config).to.deep.include({ resumeTimeout: 1000 });
      expect(previewCard.metadata?.cover?.imageL).to.equal('https://cdn.yoto.io/myo-cover/cherries_yellow.gif');

      // A redeploy updates the same card through the same script.
      const again = await call<{ result: { cardId: string } }>(member.accessToken, 'POST', `/stories/${spy.id}/deploy`, { deviceId: PLAYER });
      expect(again.status, again.text).to.equal(200);
      expect(again.json.result.cardId).to.equal(script.cardId);
      expect(hub.store.scripts.list((s) => s.type === 'cyoa' && s.definition.storyId === spy.id)).to.have.length(1);
    });
  });
});
