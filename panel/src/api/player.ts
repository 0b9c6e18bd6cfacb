import { auth } from '../state/auth-store';
import type { PlayerSettingsView, PlayerSettingsChange, PlayerAlarmInput } from '../../../server/types/schemas';

/** Player settings, alarms and the family library (types only from the server: nothing is bundled). */
export type { PlayerSettingsView, PlayerSettingsChange, PlayerAlarmInput };

export interface FamilyCard {
  cardId: string;
  title: string;
  kind: 'myo' | 'bought' | 'podcast';
  author?: string;
  cover?: string;
  groups: string[];
}

export interface CardGroup {
  id: string;
  name: string;
  cardIds: string[];
}

const jsonBody = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const settingsUrl = (deviceId: string): string => `/api/devices/${encodeURIComponent(deviceId)}/settings`;
const alarmsUrl = (deviceId: string): string => `/api/devices/${encodeURIComponent(deviceId)}/alarms`;

export function getSettings(deviceId: string): Promise<PlayerSettingsView> {
  return auth.json<PlayerSettingsView>(settingsUrl(deviceId));
}
export function patchSettings(deviceId: string, change: PlayerSettingsChange): Promise<PlayerSettingsView> {
  return auth.json<PlayerSettingsView>(settingsUrl(deviceId), jsonBody('PATCH', change));
}
export function addAlarm(deviceId: string, alarm: PlayerAlarmInput): Promise<unknown> {
  return auth.json<unknown>(alarmsUrl(deviceId), jsonBody('POST', alarm));
}
export function patchAlarm(deviceId: string, id: number, change: PlayerAlarmInput): Promise<unknown> {
  return auth.json<unknown>(`${alarmsUrl(deviceId)}/${id}`, jsonBody('PATCH', change));
}
export async function deleteAlarm(deviceId: string, id: number): Promise<void> {
  await auth.json<undefined>(`${alarmsUrl(deviceId)}/${id}`, { method: 'DELETE' });
}
export async function listCards(filter: { q?: string; group?: string } = {}): Promise<FamilyCard[]> {
  const query = new URLSearchParams();
  if (filter.q) query.set('q', filter.q);
  if (filter.group) query.set('group', filter.group);
  const text = query.toString();
  return (await auth.json<{ cards: FamilyCard[] }>(`/api/cards${text ? `?${text}` : ''}`)).cards;
}
export async function listCardGroups(): Promise<CardGroup[]> {
  return (await auth.json<{ groups: CardGroup[] }>('/api/cards/groups')).groups;
}
