import type { Response } from 'express';
import { ApiError } from './api-error';

/**
 * Who is calling: set on `res.locals.user` by the accounts capability's
 * authentication middleware, read by every route that checks ownership.
 */
export interface RequestUser {
  id: string;
  email: string;
  role: 'admin' | 'member';
  /** Set when the caller used an API token (its id) rather than a sign-in's access token. */
  apiTokenId?: string;
}

/** The signed-in caller; a 401 ApiError when the request was not authenticated. */
export function requestUser(res: Response): RequestUser {
  const user = (res.locals as { user?: RequestUser }).user;
  if (!user) throw new ApiError(401, 'unauthorized', 'sign in first: send Authorization: Bearer <access token>');
  return user;
}

/**
 * The one ownership rule: admins may use everything; a member only what they own. Something
 * with no owner (`undefined`: e.g. a player nobody has claimed) is an admin's only.
 */
export function mayAccess(user: RequestUser, ownerId: string | undefined): boolean {
  return user.role === 'admin' || (ownerId !== undefined && user.id === ownerId);
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other form. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}
