import type { HealthReport } from '../../server/system/health';

const HEALTH_ADMIN = { email: 'health-admin@example.org', name: 'Health admin', password: 'health admin password' };

/**
 * An admin's access token on the hub at `baseUrl`: onboards one on a hub with no
 * users, signs in otherwise (a hub whose admin is someone else answers 401).
 */
export async function adminToken(baseUrl: string): Promise<string> {
  const post = (path: string, body: object): Promise<Response> =>
    fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let answer = await post('/api/auth/onboarding', HEALTH_ADMIN);
  if (answer.status === 409) answer = await post('/api/auth/login', { email: HEALTH_ADMIN.email, password: HEALTH_ADMIN.password });
  if (!answer.ok) throw new Error(`could not sign in as an admin: HTTP ${answer.status} ${await answer.text()}`);
  return ((await answer.json()) as { accessToken: string }).accessToken;
}

/** GET /api/system/health as an admin: the whole report (anonymous callers get only the status). */
export async function adminHealth(baseUrl: string): Promise<{ status: number; body: HealthReport }> {
  const response = await fetch(`${baseUrl}/api/system/health`, { headers: { authorization: `Bearer ${await adminToken(baseUrl)}` } });
  return { status: response.status, body: (await response.json()) as HealthReport };
}
