import express, { type Request, type Response, type Router } from 'express';
import { OAuthRefusal, type VirtualTokenService } from '../tokens/token-service';
import { bodyString, queryString } from './request-helpers';

/**
 * The virtual login: `GET /authorize` approves a registered client at once
 * (there is only the virtual user; scopes the client is not registered for
 * are `access_denied`) and redirects to the client's redirect_uri with code and
 * state, so the adapter's PKCE sign-in runs without a browser;
 * `POST /oauth/token` serves the authorization_code and refresh_token grants.
 */
export function authRoutes(tokens: VirtualTokenService): Router {
  const router = express.Router();
  router.get('/authorize', (req, res) => authorize(tokens, req, res));
  router.post('/oauth/token', express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' }), async (req, res) => {
    const grantType = bodyString(req, 'grant_type');
    const clientId = bodyString(req, 'client_id');
    let answer;
    if (grantType === 'authorization_code') {
      answer = await tokens.exchangeCode({
        code: bodyString(req, 'code'),
        codeVerifier: bodyString(req, 'code_verifier'),
        redirectUri: bodyString(req, 'redirect_uri'),
        clientId,
      });
    } else if (grantType === 'refresh_token') {
      answer = await tokens.refresh({ refreshToken: bodyString(req, 'refresh_token'), clientId });
    } else {
      throw new OAuthRefusal(400, 'unsupported_grant_type', `grant_type "${grantType ?? ''}" is not supported: use authorization_code or refresh_token`);
    }
    res.set('cache-control', 'no-store').json(answer);
  });
  return router;
}

function authorize(tokens: VirtualTokenService, req: Request, res: Response): void {
  const clientId = queryString(req, 'client_id');
  const redirectUri = queryString(req, 'redirect_uri');
  // Without a client and a usable redirect URI there is nowhere safe to send the answer.
  if (!clientId) {
    res.status(400).json({ error: 'invalid_request', error_description: 'client_id is required' });
    return;
  }
  // An app not registered here gets no code, and no redirect: its redirect URI cannot be trusted.
  if (!tokens.isKnownClient(clientId)) {
    res.status(400).set('cache-control', 'no-store').json({ error: 'unauthorized_client', error_description: `Unknown client: ${clientId}` });
    return;
  }
  const redirect = redirectUri ? parseRedirectUri(redirectUri) : undefined;
  if (!redirect) {
    res.status(400).json({ error: 'invalid_request', error_description: 'redirect_uri must be an absolute http(s) URL' });
    return;
  }
  const state = queryString(req, 'state');
  try {
    const code = tokens.authorize({
      responseType: queryString(req, 'response_type'),
      clientId,
      redirectUri,
      codeChallenge: queryString(req, 'code_challenge'),
      codeChallengeMethod: queryString(req, 'code_challenge_method'),
      scope: queryString(req, 'scope'),
      audience: queryString(req, 'audience'),
    });
    redirect.searchParams.set('code', code);
  } catch (error) {
    if (!(error instanceof OAuthRefusal)) throw error;
    redirect.searchParams.set('error', error.error);
    redirect.searchParams.set('error_description', error.description);
  }
  if (state !== undefined) redirect.searchParams.set('state', state);
  res.set('cache-control', 'no-store').redirect(302, redirect.toString());
}

function parseRedirectUri(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}
