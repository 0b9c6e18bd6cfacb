/**
 * The RecordValidator the hub injects into the store: each collection's
 * records are checked against their JSON Schema in schemas/. The store itself
 * never imports this; it only calls whatever validator it was given.
 */
import { getValidator, type SchemaName } from '../validation';
import type { CollectionName } from './collections';
import type { RecordValidator } from './repository';

const SCHEMA_OF_COLLECTION: Record<CollectionName, SchemaName> = {
  users: 'user',
  devices: 'device',
  audio_files: 'audio-file',
  scripts: 'script',
  cyoa_stories: 'cyoa-story',
  playback_history: 'playback-session',
  sessions: 'session',
};

/** Throws SchemaValidationError (code 'validation_failed', details per field) for an invalid record. */
export function storeValidator(): RecordValidator {
  const validator = getValidator();
  return (collection, record) => {
    validator.validate(SCHEMA_OF_COLLECTION[collection], record);
  };
}
