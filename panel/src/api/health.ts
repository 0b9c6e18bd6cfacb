import { auth } from '../state/auth-store';

/** The shape of GET /api/system/health (server/system/health.ts) as a signed-in user sees it (admins get each component's details). */
export interface ComponentHealth {
  status: 'ok' | 'starting' | 'degraded' | 'error' | 'stopped' | 'not_configured';
  [detail: string]: unknown;
}

export interface HealthReport {
  status: 'ok' | 'starting' | 'degraded' | 'stopped';
  /** The rest is only for signed-in callers: anonymous ones get the status alone. */
  version?: string;
  startedAt?: string;
  uptimeSeconds?: number;
  components?: Record<string, ComponentHealth>;
}

export async function fetchHealth(signal?: AbortSignal): Promise<HealthReport> {
  // Signed in, so the hub says more than up or down.
  const response = await auth.fetch('/api/system/health', { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  // 503 still carries a report: the hub answers it when a component is not ok.
  if (!response.ok && response.status !== 503) throw new Error(`health check failed: HTTP ${response.status}`);
  return (await response.json()) as HealthReport;
}
