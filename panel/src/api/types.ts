/** Wire types shared with the hub, generated from schemas/ (types only: nothing is bundled). */
export type {
  Announcement,
  AudioFile,
  BrokerAnnouncementMessage,
  BrokerCommandMessage,
  BrokerEventMessage,
  BrokerPlaybackMessage,
  BrokerStatusMessage,
  User,
  WsServerMessage,
} from '../../../server/types/schemas';

/** `{error: {code, message, details}}` as the hub answers a failed request. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

/** Turns a non-2xx answer into an ApiRequestError with the hub's message when it sent one. */
export async function errorFrom(response: Response): Promise<ApiRequestError> {
  let body: ErrorBody | undefined;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    body = undefined;
  }
  return errorFromBody(response.status, body);
}

export function errorFromBody(status: number, body: unknown): ApiRequestError {
  const info = (body as ErrorBody | undefined)?.error;
  const code = typeof info?.code === 'string' ? info.code : `http_${status}`;
  const message = typeof info?.message === 'string' ? info.message : `the hub answered HTTP ${status}`;
  const details = Array.isArray(info?.details) ? (info.details as Array<{ path: string; message: string }>) : [];
  return new ApiRequestError(status, code, message, details);
}
