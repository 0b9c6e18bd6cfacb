import type { RequestHandler } from 'express';
import { createAnalyticsApi, type AnalyticsApi } from '../../server/analytics';
import { createDevicesApi } from '../../server/devices';
import { HubHttpServer } from '../../server/http/http-server';
import type { RequestUser } from '../../server/http/request-user';
import type { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import { openApiRoutes } from '../../server/openapi';
import { configRoutes } from '../../server/system/config-routes';
import { createMetrics, type Metrics } from '../../server/system/metrics';
import { requestContext } from '../../server/system/request-context';
import type { DeviceCommander } from '../../server/yoto/device-command';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

export const LIVING = 'vliving0room0yoto0player';
export const KIDS = 'vkids0bedroom0yoto0mini0';

export const ADMIN: RequestUser = { id: 'admin-1', email: 'admin@example.com', role: 'admin' };
export const ALICE: RequestUser = { id: 'alice', email: 'alice@example.com', role: 'member' };
export const BOB: RequestUser = { id: 'bob', email: 'bob@example.com', role: 'member' };

/** The seam where the real authentication goes: `x-test-user: <id>:<role>`. */
const testAuth: RequestHandler = (req, res, next) => {
  const header = req.get('x-test-user');
  if (header) {
    const [id, role] = header.split(':');
    if (id && (role === 'admin' || role === 'member')) res.locals['user'] = { id, email: `${id}@example.com`, role } satisfies RequestUser;
  }
  next();
};

export interface Rig {
  hub: Hub;
  server: HubHttpServer;
  analytics: AnalyticsApi;
  metrics: Metrics;
  call(method: string, path: string, user?: RequestUser, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; text: string; headers: Headers }>;
  stop(): Promise<void>;
}

/** A running test hub, and a separate server with this capability's routers. `commander` replaces the cloud (fuzzing). */
export async function startRig(options: { commander?: DeviceCommander } = {}): Promise<Rig> {
  const hub = await startTestHub();
  const server = new HubHttpServer({ host: '127.0.0.1', port: 0, panelDir: '/nonexistent', logger: silentLogger });
  const metrics = createMetrics({
    registry: hub.devices,
    broker: () => hub.broker.health(),
    cloud: () => hub.cloud.health(),
    webSocketClients: () => server.wss.clients.size,
  });
  server.useApi(requestContext(silentLogger));
  server.useApi(metrics.middleware);
  server.mountApi('/', openApiRoutes());
  server.useApi(testAuth);
  server.mountApi('/devices', createDevicesApi({ store: hub.store, registry: hub.devices, commander: options.commander ?? hub.cloud, scripts: hub.scripts, logger: silentLogger, source: () => hub.cloud.active ?? 'yoto', revokeDevice: (id) => hub.streams.revokeDevice(id) }));
  const analytics = createAnalyticsApi({ store: hub.store, registry: hub.devices, logger: silentLogger });
  server.mountApi('/analytics', analytics.router);
  server.mountApi('/system', configRoutes({ options: hub.options, logger: silentLogger }));
  server.mountRoot('/metrics', metrics.router);
  await server.listen();
  await analytics.ready;
  return {
    hub,
    server,
    analytics,
    metrics,
    async call(method, path, user, body, headers = {}) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(user ? { 'x-test-user': `${user.id}:${user.role}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed, text, headers: response.headers };
    },
    async stop() {
      analytics.stop();
      metrics.stop();
      await server.close();
      await stopTestHub(hub);
    },
  };
}
