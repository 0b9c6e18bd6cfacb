import type { BrokerHealth } from '../broker/home-broker-client';

export type ComponentStatus = 'ok' | 'starting' | 'degraded' | 'error' | 'stopped' | 'not_configured';

export interface ComponentHealth {
  status: ComponentStatus;
  [detail: string]: unknown;
}

export interface HealthReport {
  status: 'ok' | 'starting' | 'degraded' | 'stopped';
  version: string;
  startedAt?: string;
  uptimeSeconds: number;
  components: {
    store: ComponentHealth;
    broker: ComponentHealth & { state: BrokerHealth['status'] | 'stopped' };
    cloud: ComponentHealth;
    http: ComponentHealth;
  };
}

/** The overall status is the worst of the components that are configured. */
export function overallStatus(components: HealthReport['components'], hubRunning: boolean): HealthReport['status'] {
  if (!hubRunning) return 'stopped';
  const statuses = Object.values(components).map((c) => c.status);
  if (statuses.includes('starting')) return 'starting';
  if (statuses.some((s) => s === 'error' || s === 'degraded' || s === 'stopped')) return 'degraded';
  return 'ok';
}
