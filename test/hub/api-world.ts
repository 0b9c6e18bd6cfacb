import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Hub } from '../../server/hub';
import { fixturesDir } from '../helpers/fixtures';

export const LIVING = 'vliving0room0yoto0player';
export const KIDS = 'vkids0bedroom0yoto0mini0';
export const START_MP3 = path.join(fixturesDir, 'twine-spyshort', 'audio', 'Start.mp3');

export interface SignIn {
  accessToken: string;
  refreshToken: string;
  user: { id: string; role: string; email?: string };
}

export interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/** A call to the hub's API; `body` as a string is sent raw (malformed JSON). */
export async function call(hub: Hub, method: string, url: string, token?: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${hub.url}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return answerOf(response);
}

/** A response as the tests read it: status, text, and the JSON body when it is JSON. */
export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** Onboards the hub's first user (its admin) through the API: the onboarding answer. */
export async function onboardAdmin(hub: Hub, admin = { email: 'admin@example.org', name: 'Admin', password: 'correct horse battery' }): Promise<SignIn> {
  const answer = await call(hub, 'POST', '/api/auth/onboarding', undefined, admin);
  expect(answer.status, answer.text).to.equal(201);
  return answer.json as SignIn;
}

export async function inviteMember(hub: Hub, admin: SignIn, email: string, name: string): Promise<SignIn> {
  const invitation = await call(hub, 'POST', '/api/auth/invitations', admin.accessToken, { email, role: 'member' });
  expect(invitation.status, invitation.text).to.equal(201);
  const { invitationToken } = invitation.json as { invitationToken: string };
  const registered = await call(hub, 'POST', '/api/auth/register', undefined, { invitationToken, name, password: 'another long secret' });
  expect(registered.status, registered.text).to.equal(201);
  return registered.json as SignIn;
}

export async function upload(hub: Hub, token: string, fileName: string): Promise<{ id: string; title: string }> {
  const form = new FormData();
  form.append('file', new Blob([fs.readFileSync(START_MP3)]), fileName);
  const response = await fetch(`${hub.url}/api/audio`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await response.text();
  expect(response.status, text).to.equal(201);
  return JSON.parse(text) as { id: string; title: string };
}

/** A small deployable story whose passages all play `fileId`. */
export function storyBody(title: string, fileId: string): Record<string, unknown> {
  return {
    title,
    startNodeId: 'start',
    nodes: [
      { id: 'start', title: 'Briefing', audioFileId: fileId, position: { x: 0, y: 0 } },
      { id: 'car', title: 'The car chase', audioFileId: fileId, ending: true, position: { x: 200, y: -80 } },
      { id: 'boat', title: 'The boat', audioFileId: fileId, ending: true, position: { x: 200, y: 80 } },
    ],
    connections: [
      { id: 'c1', from: 'start', to: 'car', choice: 'left' },
      { id: 'c2', from: 'start', to: 'boat', choice: 'right' },
    ],
    expect: [{ name: 'left goes to the car', inputs: ['left'], path: ['start', 'car'] }],
  };
}

export interface Resources {
  fileId: string;
  scriptId: string;
  storyId: string;
  streamId: string;
  deviceId: string;
  /** An announcement on the claimed player (absent when no player was claimed). */
  announcementId?: string;
  /** An API token of the user (its id; the token itself in apiToken). */
  tokenId: string;
  apiToken: string;
}

/** One of each resource, owned by the token's user; names carry `marker` so a leak is visible. */
export async function createResources(hub: Hub, token: string, marker: string, claimDevice: boolean): Promise<Resources> {
  const file = await upload(hub, token, `${marker}-audio.mp3`);
  const script = await call(hub, 'POST', '/api/scripts', token, { name: `${marker}-script`, type: 'simple', definition: { audioFileId: file.id } });
  expect(script.status, script.text).to.equal(201);
  const story = await call(hub, 'POST', '/api/stories', token, storyBody(`${marker}-story`, file.id));
  expect(story.status, story.text).to.equal(201);
  const stream = await call(hub, 'POST', '/api/streams/smart', token, { name: `${marker}-stream`, playlist: [file.id] });
  expect(stream.status, stream.text).to.equal(201);
  let announcementId: string | undefined;
  let apiToken: { id: string; token: string };
  if (claimDevice) {
    // Through the rate-limited route once; the copies the matrix deletes are made directly.
    const created = await call(hub, 'POST', '/api/auth/tokens', token, { name: `${marker}-token` });
    expect(created.status, created.text).to.equal(201);
    apiToken = created.json as { id: string; token: string };
  } else {
    const { token: text, view } = await hub.accounts.apiTokens.create(hub.accounts.verifyAccessToken(token)!.id, `${marker}-token`);
    apiToken = { id: view.id, token: text };
  }
  if (claimDevice) {
    const device = await call(hub, 'POST', '/api/devices', token, { deviceId: KIDS, name: `${marker}-device` });
    expect(device.status, device.text).to.equal(201);
    const announcement = await call(hub, 'POST', '/api/announcements', token, { audio_file_id: file.id, device_ids: [KIDS] });
    expect(announcement.status, announcement.text).to.equal(202);
    announcementId = (announcement.json as { id: string }).id;
  }
  return {
    fileId: file.id,
    scriptId: (script.json as { id: string }).id,
    storyId: (story.json as { story: { id: string } }).story.id,
    streamId: (stream.json as { id: string }).id,
    deviceId: KIDS,
    ...(announcementId ? { announcementId } : {}),
    tokenId: apiToken.id,
    apiToken: apiToken.token,
  };
}

/** The id a route under `path` takes, among `resources` (and `userId` for /api/auth/users). */
export function idFor(openPath: string, resources: Resources, userId: string): string | undefined {
  if (openPath.startsWith('/api/audio/')) return resources.fileId;
  if (openPath.startsWith('/api/scripts/')) return resources.scriptId;
  if (openPath.startsWith('/api/stories/')) return resources.storyId;
  if (openPath.startsWith('/api/streams/smart/')) return resources.streamId;
  if (openPath.startsWith('/api/devices/')) return resources.deviceId;
  if (openPath.startsWith('/api/announcements/')) return resources.announcementId;
  if (openPath.startsWith('/api/auth/users/')) return userId;
  if (openPath.startsWith('/api/auth/tokens/')) return resources.tokenId;
  return undefined;
}

/** A valid JSON body for a route (method + OpenAPI path), given the resources it acts on. */
export function validBody(method: string, openPath: string, resources: Resources, marker: string): unknown {
  const key = `${method} ${openPath}`;
  switch (key) {
    case 'patch /api/audio/{id}': return { title: `${marker}-audio-renamed` };
    case 'put /api/scripts/{id}':
    case 'patch /api/scripts/{id}': return { name: `${marker}-script-renamed` };
    case 'post /api/scripts/{id}/deploy': return { deviceId: resources.deviceId };
    case 'put /api/stories/{id}': return storyBody(`${marker}-story-renamed`, resources.fileId);
    case 'post /api/stories/{id}/deploy': return { deviceId: resources.deviceId };
    case 'put /api/streams/smart/{id}': return { name: `${marker}-stream-renamed`, playlist: [resources.fileId] };
    case 'put /api/streams/smart/{id}/value': return { fileId: resources.fileId };
    case 'patch /api/devices/{id}': return { name: `${marker}-device-renamed` };
    case 'post /api/devices/{id}/command': return { command: 'pause' };
    case 'post /api/announcements': return { audio_file_id: resources.fileId, device_ids: [resources.deviceId] };
    case 'patch /api/devices/{id}/settings': return { nightMaxVolume: 8 };
    case 'post /api/devices/{id}/alarms': return { time: '05:45' };
    case 'patch /api/devices/{id}/alarms/{alarmId}': return { enabled: false };
    case 'patch /api/auth/users/{id}': return { name: `${marker}-user-renamed` };
    case 'post /api/stories/{id}/test': return undefined;
    case 'post /api/auth/tokens': return { name: `${marker}-token` };
    default: return undefined;
  }
}
