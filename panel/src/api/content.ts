import { auth } from '../state/auth-store';
import { errorFromBody } from './types';
import type { CyoaConnection, CyoaNode, CyoaStory, PlaylistTrack, Script, ScriptOptions, User } from '../../../server/types/schemas';

/** Wire types of scripts, stories and accounts (types only: nothing is bundled). */
export type { CyoaConnection, CyoaNode, CyoaStory, PlaylistTrack, Script, ScriptOptions, User };

export type Choice = CyoaConnection['choice'];

/** One finding of the story validator (server/stories/validate.ts). */
export interface Finding {
  severity: 'error' | 'warning';
  code: string;
  nodeIds: string[];
  message: string;
}

/**
 * Something a Twee import skipped or changed (server/stories/twee.ts TweeFinding):
 * set-up passages ignored, empty links dropped, links with no words, and so on.
 */
export interface ImportFinding {
  severity: 'warning';
  code: string;
  nodeIds: string[];
  message: string;
}

export interface Icon {
  mediaId: string;
  iconRef: string;
  title?: string;
}

const jsonBody = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// ---- scripts ----

export type ScriptInput = Pick<Script, 'name' | 'type' | 'definition'> & { options?: ScriptOptions };

export async function listScripts(): Promise<Script[]> {
  return (await auth.json<{ items: Script[] }>('/api/scripts')).items;
}
export function getScript(id: string): Promise<Script> {
  return auth.json<Script>(`/api/scripts/${encodeURIComponent(id)}`);
}
export function saveScript(id: string | undefined, input: ScriptInput): Promise<Script> {
  return id ? auth.json<Script>(`/api/scripts/${encodeURIComponent(id)}`, jsonBody('PUT', input)) : auth.json<Script>('/api/scripts', jsonBody('POST', input));
}
export async function deleteScript(id: string): Promise<void> {
  await auth.json<undefined>(`/api/scripts/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
export function deployScript(id: string, body: { deviceId: string; volume?: number; sleepSeconds?: number }): Promise<unknown> {
  return auth.json<unknown>(`/api/scripts/${encodeURIComponent(id)}/deploy`, jsonBody('POST', body));
}
export async function listIcons(): Promise<Icon[]> {
  const answer = await auth.json<{ public: Icon[]; mine: Icon[] }>('/api/icons');
  return [...answer.mine, ...answer.public];
}

// ---- stories ----

export type StoryInput = Omit<CyoaStory, 'id' | 'userId' | 'createdAt' | 'updatedAt'>;

export async function listStories(): Promise<CyoaStory[]> {
  return (await auth.json<{ stories: CyoaStory[] }>('/api/stories')).stories;
}
export function getStory(id: string): Promise<{ story: CyoaStory; findings: Finding[] }> {
  return auth.json(`/api/stories/${encodeURIComponent(id)}`);
}
export function createStory(input: StoryInput): Promise<{ story: CyoaStory; findings: Finding[] }> {
  return auth.json('/api/stories', jsonBody('POST', input));
}
export function putStory(story: CyoaStory): Promise<{ story: CyoaStory; findings: Finding[] }> {
  const { id, userId: _u, createdAt: _c, updatedAt: _t, ...rest } = story;
  return auth.json(`/api/stories/${encodeURIComponent(id)}`, jsonBody('PUT', rest));
}
export function storyFindings(id: string): Promise<{ deployable: boolean; findings: Finding[] }> {
  return auth.json(`/api/stories/${encodeURIComponent(id)}/findings`);
}
export async function deleteStory(id: string): Promise<void> {
  await auth.json<undefined>(`/api/stories/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
/** Imports a Twee 3 file as a new story; `importFindings` says what the import left out or could not use. */
export async function importTwee(text: string): Promise<{ story: CyoaStory; findings: Finding[]; importFindings: ImportFinding[] }> {
  const answer = await auth.json<{ story: CyoaStory; findings: Finding[]; importFindings?: ImportFinding[] }>('/api/stories/import/twee', {
    method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text,
  });
  return { story: answer.story, findings: answer.findings, importFindings: answer.importFindings ?? [] };
}
export async function exportTwee(id: string): Promise<string> {
  const response = await auth.fetch(`/api/stories/${encodeURIComponent(id)}/twee`, { headers: { accept: 'text/plain' } });
  if (!response.ok) throw errorFromBody(response.status, await response.json().catch(() => undefined));
  return response.text();
}
/** Deploys; a story with errors answers 422 with the findings, returned here instead of thrown. */
export async function deployStory(id: string, deviceId: string): Promise<{ ok: boolean; findings: Finding[] }> {
  const response = await auth.fetch(`/api/stories/${encodeURIComponent(id)}/deploy`, jsonBody('POST', { deviceId }));
  const body = (await response.json().catch(() => undefined)) as { findings?: Finding[] } | undefined;
  if (response.status === 422 && body?.findings) return { ok: false, findings: body.findings };
  if (!response.ok) throw errorFromBody(response.status, body);
  return { ok: true, findings: body?.findings ?? [] };
}

// ---- accounts and settings ----

export async function listUsers(): Promise<User[]> {
  return (await auth.json<{ users: User[] }>('/api/auth/users')).users;
}
export function invite(email: string, role: User['role']): Promise<{ invitationToken: string; expiresAt: string; email: string; role: string }> {
  return auth.json('/api/auth/invitations', jsonBody('POST', { email, role }));
}
export function patchUser(id: string, patch: { role?: User['role']; disabled?: boolean }): Promise<User> {
  return auth.json(`/api/auth/users/${encodeURIComponent(id)}`, jsonBody('PATCH', patch));
}
export async function deleteUser(id: string): Promise<void> {
  await auth.json<undefined>(`/api/auth/users/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
