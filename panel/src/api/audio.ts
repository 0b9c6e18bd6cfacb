import { auth } from '../state/auth-store';
import { errorFromBody, type AudioFile } from './types';

export interface AudioPage {
  items: AudioFile[];
  total: number;
  page: number;
  pageSize: number;
}

export type AudioSort = 'title' | '-title' | 'createdAt' | '-createdAt' | 'duration' | '-duration' | 'size' | '-size';

export function listAudio(query: { q?: string; sort?: AudioSort; page?: number; pageSize?: number }, signal?: AbortSignal): Promise<AudioPage> {
  const params = new URLSearchParams();
  if (query.q) params.set('q', query.q);
  if (query.sort) params.set('sort', query.sort);
  if (query.page) params.set('page', String(query.page));
  if (query.pageSize) params.set('pageSize', String(query.pageSize));
  return auth.json<AudioPage>(`/api/audio?${params.toString()}`, signal ? { signal } : {});
}

export function renameAudio(id: string, title: string): Promise<AudioFile> {
  return auth.json<AudioFile>(`/api/audio/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
}

export async function deleteAudio(id: string): Promise<void> {
  await auth.json<undefined>(`/api/audio/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** The cover as a data: URL (the hub's CSP allows data: images; the request needs the bearer header). */
export async function coverDataUrl(id: string): Promise<string | undefined> {
  const response = await auth.fetch(`/api/audio/${encodeURIComponent(id)}/cover`, { headers: { accept: 'image/*' } });
  if (!response.ok) return undefined;
  const blob = await response.blob();
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : undefined);
    reader.onerror = () => resolve(undefined);
    reader.readAsDataURL(blob);
  });
}

/** The file's bytes, for previewing in the browser. */
export async function fetchAudioBytes(id: string, signal?: AbortSignal): Promise<ArrayBuffer> {
  const response = await auth.fetch(`/api/audio/${encodeURIComponent(id)}/stream`, { headers: { accept: 'audio/*' }, ...(signal ? { signal } : {}) });
  if (!response.ok) throw errorFromBody(response.status, await response.json().catch(() => undefined));
  return response.arrayBuffer();
}

export interface UploadHandle {
  promise: Promise<AudioFile>;
  abort(): void;
}

/**
 * POST /api/audio with XMLHttpRequest, whose upload events report progress
 * (fetch cannot). A 401 refreshes the session once and starts again.
 */
export function uploadAudio(file: File, onProgress: (loaded: number, total: number) => void): UploadHandle {
  let current: XMLHttpRequest | undefined;
  let aborted = false;
  const attempt = (retried: boolean): Promise<AudioFile> =>
    new Promise<AudioFile>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      current = xhr;
      xhr.open('POST', '/api/audio');
      xhr.responseType = 'json';
      xhr.setRequestHeader('accept', 'application/json');
      if (auth.accessToken) xhr.setRequestHeader('authorization', `Bearer ${auth.accessToken}`);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      xhr.addEventListener('load', () => {
        if (xhr.status === 401 && !retried) {
          void auth.refresh().then((ok) => (ok && !aborted ? attempt(true).then(resolve, reject) : reject(errorFromBody(401, xhr.response))));
          return;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response as AudioFile);
        else reject(errorFromBody(xhr.status, xhr.response));
      });
      xhr.addEventListener('error', () => reject(new Error('the upload failed: the connection to the hub was lost')));
      xhr.addEventListener('abort', () => reject(new Error('upload cancelled')));
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
  return {
    promise: attempt(false),
    abort: () => {
      aborted = true;
      current?.abort();
    },
  };
}
