import express, { type Router } from 'express';
import { ApiError } from '../http/api-error';
import { requestUser } from '../http/request-user';
import { SignInPasteError } from '../yoto/auth/browser-sign-in';
import { OAuthError } from '../yoto/auth/oauth-client';
import { MissingScopeError } from '../yoto/auth/scopes';
import { MissingScopeProblem, type CloudConnection, type SignInStatus } from './cloud-connection';

/** The part of the cloud connection the sign-in surfaces use (the hub API and the yoto-hub node's admin endpoint). */
export type SignInCloud = Pick<CloudConnection, 'signInStatus' | 'requestSignIn' | 'completeSignIn'>;

/** The longest address a browser might show after the sign-in (Auth0 answers are far shorter). */
const MAX_ADDRESS_LENGTH = 8192;

/** Asks for a sign-in link (a fresh one when asked); 409 when no client id is set. */
export async function requestSignInLink(cloud: SignInCloud, fresh: boolean): Promise<SignInStatus> {
  const links = await cloud.requestSignIn({ fresh });
  const status = cloud.signInStatus();
  if (!links && !status.available) {
    throw new ApiError(409, 'no_client_id', 'no Yoto client id is set: register one at the Yoto developer dashboard and set YOTO_CLIENT_ID (the hub runs on the virtual cloud until then)');
  }
  return status;
}

/** Reads `{url}` from a body: the address the browser ended on. */
export function pastedAddress(body: unknown): string {
  const url = typeof body === 'object' && body !== null ? (body as { url?: unknown }).url : undefined;
  if (typeof url !== 'string' || url.trim() === '' || url.length > MAX_ADDRESS_LENGTH) {
    throw new ApiError(400, 'validation_failed', 'send {"url": "<the address the browser ended on after signing in>"}', [{ path: '/url', message: `must be a web address of at most ${MAX_ADDRESS_LENGTH} characters` }]);
  }
  return url;
}

/** Finishes the sign-in from a pasted address; every way it can go wrong is a 4xx the user can act on. */
export async function completeSignInFromAddress(cloud: SignInCloud, address: string): Promise<SignInStatus> {
  try {
    return await cloud.completeSignIn(address);
  } catch (error) {
    if (error instanceof SignInPasteError) throw new ApiError(error.code === 'no_client_id' ? 409 : 400, error.code, error.message);
    if (error instanceof MissingScopeProblem || error instanceof MissingScopeError) throw new ApiError(400, 'missing_scope', error.message);
    if (error instanceof OAuthError) {
      const spent = error.isInvalidGrant;
      throw new ApiError(400, spent ? 'stale_address' : 'sign_in_refused', spent
        ? `Yoto no longer accepts that sign-in answer (${error.errorDescription ?? error.error}): it was used already or has expired. Ask for a new sign-in link and sign in again`
        : `Yoto refused the sign-in: ${error.message}. Ask for a new sign-in link and try again`);
    }
    throw new ApiError(502, 'cloud_unavailable', `the sign-in could not be finished: ${(error as Error).message}`);
  }
}

/**
 * `/api/system/cloud/sign-in` (admins): GET the sign-in state (link, scopes,
 * problem); POST `{fresh?}` for a link (a new one with fresh: true, at any
 * time); POST `/complete` `{url}` with the address the browser ended on, for a
 * hub the browser cannot reach (Raspberry Pi, Docker).
 */
export function signInRoutes(cloud: () => SignInCloud): Router {
  const router = express.Router();
  const admin = (res: express.Response): void => {
    if (requestUser(res).role !== 'admin') throw new ApiError(403, 'forbidden', 'only an admin can sign the hub in to Yoto');
  };
  router.get('/cloud/sign-in', (_req, res) => {
    admin(res);
    res.json(cloud().signInStatus());
  });
  router.post('/cloud/sign-in', async (req, res) => {
    admin(res);
    const body: unknown = req.body;
    const fresh = typeof body === 'object' && body !== null && (body as { fresh?: unknown }).fresh === true;
    res.json(await requestSignInLink(cloud(), fresh));
  });
  router.post('/cloud/sign-in/complete', async (req, res) => {
    admin(res);
    res.json(await completeSignInFromAddress(cloud(), pastedAddress(req.body)));
  });
  return router;
}
