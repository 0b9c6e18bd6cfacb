export { Cluster, type RoleHandlers } from './cluster';
export type { ClusterRole } from './leader-lease';
export type { RedisState } from './redis-connection';
