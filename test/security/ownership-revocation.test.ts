import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { START_MP3, call, inviteMember, onboardAdmin, storyBody, upload, type SignIn } from '../hub/api-world';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];

/** Deploys a simple script of `fileId` to `deviceId` and answers the stream URL on the card the player got. */
async function deployedStreamUrl(hub: Hub, token: string, fileId: string, deviceId: string): Promise<{ scriptId: string; url: string }> {
  const script = await call(hub, 'POST', '/api/scripts', token, { name: 'Bedtime', type: 'simple', definition: { audioFileId: fileId } });
  expect(script.status, script.text).to.equal(201);
  const scriptId = (script.json as { id: string }).id;
  const deployed = await call(hub, 'POST', `/api/scripts/${scriptId}/deploy`, token, { deviceId });
  expect(deployed.status, deployed.text).to.equal(200);
  const card = await hub.cloud.getCard((deployed.json as { cardId: string }).cardId);
  const url = card?.content.chapters[0]?.tracks[0]?.trackUrl;
  expect(url, 'the card carries a hub stream URL').to.be.a('string');
  return { scriptId, url: url! };
}

/** A long MP3: the frames of the fixture (its ID3 tag dropped) `times` times over. */
function longMp3(times: number): Buffer {
  const bytes = fs.readFileSync(START_MP3);
  const tagged = bytes.subarray(0, 3).toString('latin1') === 'ID3';
  // ID3v2 size: four 7-bit bytes after the 6-byte header start, plus the 10-byte header.
  const start = tagged ? 10 + ((bytes[6]! << 21) | (bytes[7]! << 14) | (bytes[8]! << 7) | bytes[9]!) : 0;
  return Buffer.concat(Array.from({ length: times }, () => bytes.subarray(start)));
}

async function uploadBytes(hub: Hub, token: string, bytes: Buffer, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  const response = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await response.text();
  expect(response.status, text).to.equal(201);
  return (JSON.parse(text) as { id: string }).id;
}

async function streamStatus(url: string): Promise<number> {
  const response = await fetch(url, { headers: { range: 'bytes=0-99' } });
  await response.arrayBuffer();
  return response.status;
}

describe('one ownership rule, and revocation of what a right gave', function () {
  this.timeout(90_000);
  let hub: Hub | undefined;
  let admin: SignIn;
  let kid: SignIn;
  let other: SignIn;

  beforeEach(async () => {
    hub = await startTestHub();
    admin = await onboardAdmin(hub);
    kid = await inviteMember(hub, admin, 'kid@example.org', 'Kid');
    other = await inviteMember(hub, admin, 'other@example.org', 'Other');
  });
  afterEach(async () => {
    await stopTestHub(hub);
    hub = undefined;
  });

  it('refuses a member a player nobody has claimed on every surface (devices, script deploy, story deploy); an admin may', async () => {
    const file = await upload(hub!, kid.accessToken, 'kid.mp3');
    const script = await call(hub!, 'POST', '/api/scripts', kid.accessToken, { name: 'Mine', type: 'simple', definition: { audioFileId: file.id } });
    const scriptId = (script.json as { id: string }).id;
    expect((await call(hub!, 'POST', `/api/devices/${KIDS}/command`, kid.accessToken, { command: 'pause' })).status).to.equal(404);
    const deploy = await call(hub!, 'POST', `/api/scripts/${scriptId}/deploy`, kid.accessToken, { deviceId: KIDS });
    expect(deploy.status, deploy.text).to.equal(404);
    const story = await call(hub!, 'POST', '/api/stories', kid.accessToken, storyBody('Spy', file.id));
    const storyDeploy = await call(hub!, 'POST', `/api/stories/${(story.json as { story: { id: string } }).story.id}/deploy`, kid.accessToken, { deviceId: KIDS });
    expect(storyDeploy.status, storyDeploy.text).to.equal(404);
    // Once they claim it, the same deploy plays; an admin may deploy to an unclaimed player.
    expect((await call(hub!, 'POST', '/api/devices', kid.accessToken, { deviceId: KIDS, name: 'Kids' })).status).to.equal(201);
    expect((await call(hub!, 'POST', `/api/scripts/${scriptId}/deploy`, kid.accessToken, { deviceId: KIDS })).status).to.equal(200);
    const adminFile = await upload(hub!, admin.accessToken, 'admin.mp3');
    const adminScript = await call(hub!, 'POST', '/api/scripts', admin.accessToken, { name: 'House', type: 'simple', definition: { audioFileId: adminFile.id } });
    expect((await call(hub!, 'POST', `/api/scripts/${(adminScript.json as { id: string }).id}/deploy`, admin.accessToken, { deviceId: LIVING_ROOM })).status).to.equal(200);
  });

  it('refuses a story naming another member\'s audio (422), so the owner can still delete their file', async () => {
    const theirs = await upload(hub!, other.accessToken, 'other.mp3');
    const mine = await upload(hub!, kid.accessToken, 'kid.mp3');
    const created = await call(hub!, 'POST', '/api/stories', kid.accessToken, storyBody('Borrowed', theirs.id));
    expect(created.status, created.text).to.equal(422);
    expect(created.json).to.have.nested.property('error.code', 'missing_reference');
    expect((created.json as { error: { details: Array<{ path: string }> } }).error.details.map((d) => d.path)).to.include('/nodes/0/audioFileId');
    const own = await call(hub!, 'POST', '/api/stories', kid.accessToken, storyBody('Own', mine.id));
    expect(own.status, own.text).to.equal(201);
    const storyId = (own.json as { story: { id: string } }).story.id;
    const changed = await call(hub!, 'PUT', `/api/stories/${storyId}`, kid.accessToken, storyBody('Own', theirs.id));
    expect(changed.status, changed.text).to.equal(422);
    const imported = await call(hub!, 'POST', '/api/stories', kid.accessToken, { ...storyBody('Sneaky', mine.id), nodes: [{ id: 'start', title: 'A', audioFileId: theirs.id, ending: true, position: { x: 0, y: 0 } }], connections: [], expect: [] });
    expect(imported.status, imported.text).to.equal(422);
    expect((await call(hub!, 'DELETE', `/api/audio/${theirs.id}`, other.accessToken)).status).to.equal(204);
  });

  it('stops a deployed stream URL when its player is unregistered, also for a response under way', async () => {
    expect((await call(hub!, 'POST', '/api/devices', kid.accessToken, { deviceId: KIDS, name: 'Kids' })).status).to.equal(201);
    const file = await upload(hub!, kid.accessToken, 'kid.mp3');
    const { url } = await deployedStreamUrl(hub!, kid.accessToken, file.id, KIDS);
    expect(await streamStatus(url)).to.equal(206);

    // A player part-way through a long file is cut off by the revocation (the file is far larger than socket buffers).
    const long = await uploadBytes(hub!, kid.accessToken, longMp3(400), 'long.mp3');
    const { url: longUrl } = await deployedStreamUrl(hub!, kid.accessToken, long, KIDS);
    const underWay = await fetch(longUrl);
    const reader = underWay.body!.getReader();
    await reader.read();
    const removed = await call(hub!, 'DELETE', `/api/devices/${KIDS}`, kid.accessToken);
    expect(removed.status, removed.text).to.equal(204);
    let cutOff = false;
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch {
      cutOff = true;
    }
    expect(cutOff, 'the response under way was cut off').to.equal(true);
    expect(await streamStatus(url)).to.equal(403);
  });

  it('deletes what a deleted user owned and revokes its URLs; their invitation cannot make a second account', async () => {
    expect((await call(hub!, 'POST', '/api/devices', kid.accessToken, { deviceId: KIDS, name: 'Kids' })).status).to.equal(201);
    const file = await upload(hub!, kid.accessToken, 'kid.mp3');
    const { url, scriptId } = await deployedStreamUrl(hub!, kid.accessToken, file.id, KIDS);
    const story = await call(hub!, 'POST', '/api/stories', kid.accessToken, storyBody('Spy', file.id));
    expect(story.status).to.equal(201);
    const smart = await call(hub!, 'POST', '/api/streams/smart', kid.accessToken, { name: 'Mix', playlist: [file.id] });
    expect(smart.status, smart.text).to.equal(201);
    const audioPath = path.join(hub!.options.dataDir, 'audio', hub!.library.files.get(file.id)!.fileName);
    expect(fs.existsSync(audioPath)).to.equal(true);
    expect(await streamStatus(url)).to.equal(206);

    const invitation = await call(hub!, 'POST', '/api/auth/invitations', admin.accessToken, { email: 'twice@example.org', role: 'member' });
    const { invitationToken } = invitation.json as { invitationToken: string };
    const first = await call(hub!, 'POST', '/api/auth/register', undefined, { invitationToken, name: 'Twice', password: 'another long secret' });
    expect(first.status, first.text).to.equal(201);

    for (const user of [kid.user.id, (first.json as SignIn).user.id]) {
      const deleted = await call(hub!, 'DELETE', `/api/auth/users/${user}`, admin.accessToken);
      expect(deleted.status, deleted.text).to.equal(204);
    }
    expect(await streamStatus(url)).to.equal(403);
    const store = hub!.store;
    expect(store.devices.list((d) => d.deviceId === KIDS), 'the player is unclaimed again').to.deep.equal([]);
    expect(store.scripts.get(scriptId)).to.equal(undefined);
    expect(store.stories.list((s) => s.userId === kid.user.id)).to.deep.equal([]);
    expect(store.audioFiles.get(file.id)).to.equal(undefined);
    expect(hub!.streams.smart.list().filter((s) => s.userId === kid.user.id)).to.deep.equal([]);
    expect(fs.existsSync(audioPath), 'the audio file is gone from disk').to.equal(false);

    const again = await call(hub!, 'POST', '/api/auth/register', undefined, { invitationToken, name: 'Twice again', password: 'another long secret' });
    expect(again.status, again.text).to.equal(400);
    expect(again.json).to.have.nested.property('error.code', 'invalid_invitation');
  });

  it('removes at start what users deleted before a crash still owned', async () => {
    const file = await upload(hub!, kid.accessToken, 'kid.mp3');
    // As if the hub died right after deleting the account: the content is still there.
    await hub!.store.users.delete(kid.user.id);
    const options = hub!.options;
    await hub!.stop();
    hub = new Hub(options, { logger: silentLogger, env: {} });
    await hub.start();
    expect(hub.store.audioFiles.get(file.id)).to.equal(undefined);
  });
});
