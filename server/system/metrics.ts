import type { ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { DeviceRegistry } from '../core/device-registry';
import type { DirectMiddleware } from '../http/direct-routes';
import type { DeviceEvent } from '../types/schemas';

/** Where the gauges read from; each is optional and read at scrape time (a throw skips that metric). */
export interface MetricsSources {
  /** Counts its events by type; devices online come from its list. */
  registry?: DeviceRegistry;
  /** The home broker connection's counters (hub.broker.health()). */
  broker?: () => { messagesIn: number; messagesOut: number } | undefined;
  /** The Yoto cloud connection's health (hub.cloud.health()); its `mqtt.messagesIn` is used. */
  cloud?: () => object | undefined;
  /** Connected WebSocket clients (e.g. hub.http.wss.clients.size). */
  webSocketClients?: () => number;
}

export interface Metrics {
  /** Counts requests and their latency; install before the routes (server.useApi). */
  middleware: RequestHandler;
  /** The same for the routes the hub server answers ahead of Express (server.useDirect). */
  directMiddleware: DirectMiddleware;
  /** GET / answers the Prometheus text format; mount at /metrics (server.mountRoot). */
  router: Router;
  /** The current metrics in the Prometheus text format 0.0.4. */
  render(): string;
  /** Detaches from the registry. */
  stop(): void;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  labels: string;
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Prometheus metrics of the hub, written in the text format by hand (no
 * dependency): HTTP requests and latency by route and status, WebSocket
 * clients, MQTT messages in and out, device events by type, devices online.
 */
export function createMetrics(sources: MetricsSources = {}): Metrics {
  const requests = new Map<string, Histogram>();
  const eventsByType = new Map<string, number>();
  const onEvent = (event: DeviceEvent): void => {
    eventsByType.set(event.type, (eventsByType.get(event.type) ?? 0) + 1);
  };
  const owner = 'metrics';
  sources.registry?.bus.on(owner, 'event', onEvent);

  /** Counts the answer to a request once it is sent; `route` is read then (Express sets it while routing). */
  const observe = (method: string | undefined, res: ServerResponse, route: () => string): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.statusCode;
      const label = route();
      // Keyed by the raw values: the label set (escaped) is built once per method, route and status.
      const key = `${method ?? ''} ${status} ${label}`;
      let histogram = requests.get(key);
      if (!histogram) {
        histogram = { labels: labelSet({ method: method ?? '', route: label, status: String(status) }), counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
        requests.set(key, histogram);
      }
      for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) histogram.counts[i]!++;
      histogram.sum += seconds;
      histogram.count++;
    });
  };
  const middleware: RequestHandler = (req, res, next) => {
    observe(req.method, res, () => routeOf(req, res));
    next();
  };
  const directMiddleware: DirectMiddleware = (req, res, route, next) => {
    observe(req.method, res, () => route);
    next();
  };

  const render = (): string => {
    const out: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, lines: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    };
    const sorted = [...requests.values()].sort((a, b) => a.labels.localeCompare(b.labels));
    family('yoto_http_requests_total', 'counter', 'HTTP requests answered, by method, route and status.', sorted.map((h) => `yoto_http_requests_total{${h.labels}} ${h.count}`));
    family(
      'yoto_http_request_duration_seconds',
      'histogram',
      'HTTP request latency in seconds, by method, route and status.',
      sorted.flatMap((h) => [
        ...BUCKETS.map((bound, i) => `yoto_http_request_duration_seconds_bucket{${h.labels},le="${bound}"} ${h.counts[i]}`),
        `yoto_http_request_duration_seconds_bucket{${h.labels},le="+Inf"} ${h.count}`,
        `yoto_http_request_duration_seconds_sum{${h.labels}} ${formatNumber(h.sum)}`,
        `yoto_http_request_duration_seconds_count{${h.labels}} ${h.count}`,
      ]),
    );
    const ws = read(sources.webSocketClients);
    if (ws !== undefined) family('yoto_websocket_clients', 'gauge', 'Connected WebSocket clients.', [`yoto_websocket_clients ${ws}`]);
    const broker = read(sources.broker);
    const cloudMqtt = mqttIn(read(sources.cloud));
    const mqttLines: string[] = [];
    if (broker) mqttLines.push(`yoto_mqtt_messages_total{connection="home",direction="in"} ${broker.messagesIn}`, `yoto_mqtt_messages_total{connection="home",direction="out"} ${broker.messagesOut}`);
    if (cloudMqtt !== undefined) mqttLines.push(`yoto_mqtt_messages_total{connection="cloud",direction="in"} ${cloudMqtt}`);
    if (mqttLines.length > 0) family('yoto_mqtt_messages_total', 'counter', 'MQTT messages, by connection (home broker, Yoto cloud) and direction.', mqttLines);
    if (sources.registry) {
      const types = [...eventsByType.entries()].sort(([a], [b]) => a.localeCompare(b));
      family('yoto_device_events_total', 'counter', 'Device events recorded since start, by type (rate() gives events per second).', types.map(([type, n]) => `yoto_device_events_total{${labelSet({ type })}} ${n}`));
      const states = read(() => sources.registry!.list()) ?? [];
      family('yoto_devices', 'gauge', 'Players the hub knows.', [`yoto_devices ${states.length}`]);
      family('yoto_devices_online', 'gauge', 'Players online.', [`yoto_devices_online ${states.filter((s) => s.online).length}`]);
      const bus = sources.registry.bus.stats();
      family('yoto_device_listener_failures_total', 'counter', 'Device event listeners that threw (each logged; the other listeners still got the event).', [
        `yoto_device_listener_failures_total ${bus.listenerFailures}`,
      ]);
    }
    return out.join('\n') + '\n';
  };

  const router = express.Router();
  router.get('/', (_req, res) => {
    res.setHeader('Content-Type', PROMETHEUS_CONTENT_TYPE);
    res.setHeader('Cache-Control', 'no-store');
    res.send(render());
  });

  return { middleware, directMiddleware, router, render, stop: () => sources.registry?.bus.off(owner) };
}

/**
 * The route's pattern under its mount (`/api/scripts/:id`), or "unmatched"; never the URL
 * itself, which would make a label per id (and put stream tokens in one).
 */
function routeOf(req: Request, res: Response): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (!route || typeof route.path !== 'string') return 'unmatched';
  const mountPath: unknown = res.locals['mountPath'];
  const base = typeof mountPath === 'string' ? mountPath : req.baseUrl;
  return `${base}${route.path === '/' && base ? '' : route.path}` || '/';
}

function labelSet(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
}

function read<T>(source: (() => T) | undefined): T | undefined {
  if (!source) return undefined;
  try {
    return source();
  } catch {
    return undefined;
  }
}

function mqttIn(cloud: object | undefined): number | undefined {
  const mqtt = (cloud as { mqtt?: unknown } | undefined)?.mqtt;
  if (typeof mqtt !== 'object' || mqtt === null) return undefined;
  const value = (mqtt as { messagesIn?: unknown }).messagesIn;
  return typeof value === 'number' ? value : undefined;
}
