export { openStore, DB_FILE_NAME, type OpenStoreOptions, type ExternalChange, type Store, type StoreBackend, type StoreHealth } from './store';
export type { Repository, RecordValidator } from './repository';
export { EventLog, type DailyEventCounts, type DeviceEventLog, type EventLogOptions, type EventLogStats, type EventQuery } from './event-log';
export { MIGRATIONS, CURRENT_SCHEMA_VERSION, type Migration, type StoredData } from './migrations';
export { COLLECTION_NAMES, isCollectionName, type CollectionName, type CollectionRecords, type DeviceEvent } from './collections';
export { StoreError, isStoreError, type StoreErrorCode } from './errors';
