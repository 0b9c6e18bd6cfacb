import { freePorts } from './free-port';
import { HubProcess } from './hub-process';
import { MosquittoBroker } from './mosquitto';
import { startHubProxy, type NginxServer } from './nginx';
import { startRedis, type RedisServer } from './redis';
import { makeTempDir } from './temp-dir';

export const CLUSTER_ADMIN = { email: 'cluster-admin@example.org', password: 'cluster admin password' } as const;

export interface HubClusterOptions {
  /** The hub processes' instance ids, started in this order (the first leads). Default a, b. */
  names?: string[];
  /** Virtual players of the leader's cloud (1 to 100). Default 2. */
  players?: number;
  /** nginx worker processes. Default 1. */
  proxyWorkers?: number;
  /** More settings for every instance (YOTO_* variables). */
  env?: NodeJS.ProcessEnv;
  /** A data directory per instance (with YOTO_DATABASE_URL, nothing shared is kept there); default one shared by all. */
  separateDataDirs?: boolean;
}

/** Several hub instances as deploy/ runs them, on this machine: one Redis, one Mosquitto, nginx in front. */
export interface HubCluster {
  redis: RedisServer;
  mosquitto: MosquittoBroker;
  nginx: NginxServer;
  /** By instance id. */
  hubs: Map<string, HubProcess>;
  stop(): Promise<void>;
}

/**
 * Starts Redis, Mosquitto, the hub processes (each configured by the environment as in
 * deploy/compose.yaml, the virtual cloud on its own port, the admin from YOTO_ADMIN_*) and nginx
 * with deploy/nginx's locations. Without a database (YOTO_DATABASE_URL in `env`), the instances
 * share one data directory.
 */
export async function startHubCluster(options: HubClusterOptions = {}): Promise<HubCluster> {
  const names = options.names ?? ['a', 'b'];
  const redis = await startRedis();
  const mosquitto = await MosquittoBroker.start();
  const hubs = new Map<string, HubProcess>();
  let nginx: NginxServer | undefined;
  const stop = async (): Promise<void> => {
    for (const hub of hubs.values()) await hub.stop();
    await nginx?.stop();
    await mosquitto.stop();
    await redis.stop();
  };
  try {
    const sharedDataDir = await makeTempDir('cluster');
    const ports = await freePorts(names.length * 2);
    for (const [i, instanceId] of names.entries()) {
      hubs.set(
        instanceId,
        await HubProcess.start(instanceId, {
          PATH: process.env['PATH'],
          YOTO_INSTANCE_ID: instanceId,
          YOTO_REDIS_URL: redis.url,
          // nginx runs on this machine: its X-Forwarded-For is the client's address.
          YOTO_TRUSTED_PROXIES: 'loopback',
          YOTO_BROKER_URL: mosquitto.url,
          YOTO_DATA_DIR: options.separateDataDirs ? await makeTempDir(`cluster-${instanceId}`) : sharedDataDir,
          YOTO_HUB_HOST: '127.0.0.1',
          YOTO_HUB_PORT: String(ports[i * 2]),
          YOTO_CLOUD: 'virtual',
          YOTO_VIRTUAL_PLAYERS: String(options.players ?? 2),
          YOTO_VIRTUAL_CLOUD_PORT: String(ports[i * 2 + 1]),
          YOTO_SIGNIN_PORT: '0',
          YOTO_ADMIN_EMAIL: CLUSTER_ADMIN.email,
          YOTO_ADMIN_PASSWORD: CLUSTER_ADMIN.password,
          YOTO_LOG_LEVEL: 'warn',
          ...options.env,
        }),
      );
    }
    nginx = await startHubProxy(
      [...hubs.values()].map((hub) => Number(new URL(hub.url).port)),
      options.proxyWorkers ?? 1,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { redis, mosquitto, nginx, hubs, stop };
}
