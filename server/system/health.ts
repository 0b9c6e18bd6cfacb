import type { BrokerHealth } from '../broker/home-broker-client';
import { redactDeep } from '../log/redact';

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
    /** Several hub instances: this one's role (leader or follower), the leader, Redis. */
    cluster?: ComponentHealth;
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

/** Who asks for health: each sees a different amount of it. */
export type HealthViewer = 'anonymous' | 'member' | 'admin';

/** Anonymous callers: up or down. */
export interface PublicHealth {
  status: HealthReport['status'];
}

/**
 * The part of the report a caller may see. Anonymous: the overall status only
 * (anyone on the network can ask). Members: also the version, uptime and each
 * component's status and state, without addresses, client ids, paths or error
 * texts. Admins: everything, with credentials in URLs redacted.
 */
export function healthFor(report: HealthReport, viewer: HealthViewer): PublicHealth | HealthReport {
  if (viewer === 'anonymous') return { status: report.status };
  if (viewer === 'admin') return redactDeep(report);
  const components = {} as Record<string, ComponentHealth>;
  for (const [name, component] of Object.entries(report.components)) {
    components[name] = { status: component.status, ...(typeof component['state'] === 'string' ? { state: component['state'] } : {}) };
  }
  return {
    status: report.status,
    version: report.version,
    ...(report.startedAt ? { startedAt: report.startedAt } : {}),
    uptimeSeconds: report.uptimeSeconds,
    components: components as HealthReport['components'],
  };
}
