import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { schemasDir } from '../paths';
import type { SchemaTypes } from '../types/schemas';
import { describeErrors, type ErrorDetail } from './error-details';

export type * from '../types/schemas';
export type { ErrorDetail } from './error-details';

/** Every schema's `$id` is this plus its file name, so relative `$ref`s resolve between files. */
export const SCHEMA_BASE_URI = 'https://yoto-smart-stream.dev/schemas/';
const SUFFIX = '.schema.json';
/** schemas/common.schema.json holds shared `$defs` only; it is loaded for references but validates nothing. */
export const COMMON_SCHEMA_FILE = `common${SUFFIX}`;

/** The name of a schema: schemas/<name>.schema.json. */
export type SchemaName = keyof SchemaTypes;

// A literal with exactly the keys of SchemaTypes: adding a schema without its name (or the
// reverse) fails to compile once server/types/schemas.ts is regenerated.
const NAMES: { readonly [K in SchemaName]: true } = {
  user: true,
  device: true,
  'device-registration': true,
  'device-update': true,
  'audio-file': true,
  script: true,
  'cyoa-story': true,
  'story-card': true,
  event: true,
  'playback-session': true,
  session: true,
  'hub-config': true,
  'broker-status': true,
  'broker-playback': true,
  'broker-event': true,
  'broker-telemetry': true,
  'broker-command': true,
  'broker-announcement': true,
  announcement: true,
  'broker-discovery': true,
  'broker-management': true,
  'ws-client-message': true,
  'ws-server-message': true,
  'api-error': true,
  'player-settings': true,
  'player-settings-change': true,
  'player-alarm': true,
};

export const schemaNames: readonly SchemaName[] = Object.freeze(Object.keys(NAMES) as SchemaName[]);

export function isSchemaName(value: unknown): value is SchemaName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(NAMES, value);
}

/** A schema document as read from schemas/ (deeply frozen). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** Details listed in the message; all of them stay in `details`. */
const MAX_DETAILS_IN_MESSAGE = 10;

/**
 * A value did not match its schema. `code` and `details` make it a 400 answer
 * `{error: {code: 'validation_failed', message, details}}` in the HTTP layer.
 */
export class SchemaValidationError extends Error {
  readonly code = 'validation_failed';

  constructor(
    readonly schema: SchemaName,
    readonly details: ErrorDetail[],
  ) {
    super(summarize(schema, details));
    this.name = 'SchemaValidationError';
  }
}

function summarize(schema: SchemaName, details: ErrorDetail[]): string {
  const shown = details.slice(0, MAX_DETAILS_IN_MESSAGE).map((d) => `${d.path} ${d.message}`);
  const hidden = details.length - shown.length;
  return `${schema} is invalid: ${shown.join('; ')}${hidden > 0 ? `; and ${hidden} more` : ''}`;
}

export type CheckResult<K extends SchemaName> =
  | { ok: true; value: SchemaTypes[K] }
  | { ok: false; error: SchemaValidationError };

/**
 * The one ajv instance of the process: loads every schemas/*.schema.json at construction and
 * compiles each schema once, on its first use (compiling all of them up front would add a
 * few hundred milliseconds to every start). Use `getValidator()` rather than one per use.
 */
export class Validator {
  private readonly documents: Map<string, JsonSchema>;
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<SchemaName, ValidateFunction>();

  constructor(dir: string = schemasDir) {
    this.documents = readSchemaFiles(dir);
    const missing = schemaNames.filter((name) => !this.documents.has(`${name}${SUFFIX}`));
    if (missing.length > 0) throw new Error(`schemas missing from ${dir}: ${missing.map((n) => `${n}${SUFFIX}`).join(', ')}`);
    this.ajv = new Ajv2020({
      allErrors: true,
      strict: true,
      useDefaults: false,
      // Errors carry their schema, so messages can list allowed properties and alternatives.
      verbose: true,
      // Record unions (broker-command, script, ws messages) report the errors of the branch their tag selects.
      discriminator: true,
    });
    addFormats(this.ajv);
    for (const document of this.documents.values()) this.ajv.addSchema(document);
  }

  /** Returns `value`, typed, when it matches schemas/<name>.schema.json; throws SchemaValidationError otherwise. */
  validate<K extends SchemaName>(name: K, value: unknown): SchemaTypes[K] {
    const result = this.check(name, value);
    if (!result.ok) throw result.error;
    return result.value;
  }

  /** Like validate, without throwing. */
  check<K extends SchemaName>(name: K, value: unknown): CheckResult<K> {
    const validateFn = this.validatorFor(name);
    if (validateFn(value)) return { ok: true, value: value as SchemaTypes[K] };
    return { ok: false, error: new SchemaValidationError(name, describeErrors(validateFn.errors ?? [])) };
  }

  /** The schema document itself (frozen), e.g. for an OpenAPI description. */
  schema(name: SchemaName): JsonSchema {
    const document = isSchemaName(name) ? this.documents.get(`${name}${SUFFIX}`) : undefined;
    if (!document) throw unknownSchema(name);
    return document;
  }

  /** Every schema name, in a stable order. */
  names(): SchemaName[] {
    return [...schemaNames];
  }

  private validatorFor(name: SchemaName): ValidateFunction {
    const known = this.compiled.get(name);
    if (known) return known;
    if (!isSchemaName(name)) throw unknownSchema(name);
    const validateFn = compile(this.ajv, name);
    this.compiled.set(name, validateFn);
    return validateFn;
  }
}

/** Only reachable from JavaScript or a cast: TypeScript callers cannot name an unknown schema. */
function unknownSchema(name: unknown): Error {
  return new Error(`unknown schema "${String(name)}"; known schemas: ${schemaNames.join(', ')}`);
}

function readSchemaFiles(dir: string): Map<string, JsonSchema> {
  const documents = new Map<string, JsonSchema>();
  const files = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith(SUFFIX))
    .sort();
  for (const file of files) documents.set(file, readSchemaFile(dir, file));
  return documents;
}

function readSchemaFile(dir: string, file: string): JsonSchema {
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  } catch (error) {
    throw new Error(`schema ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error(`schema ${file} is not a JSON object`);
  }
  const id = (document as JsonSchema).$id;
  if (id !== `${SCHEMA_BASE_URI}${file}`) {
    throw new Error(`schema ${file} must have "$id": "${SCHEMA_BASE_URI}${file}", found ${JSON.stringify(id)}`);
  }
  return deepFreeze(document as JsonSchema);
}

function compile(ajv: Ajv2020, name: SchemaName): ValidateFunction {
  const file = `${name}${SUFFIX}`;
  try {
    const validateFn = ajv.getSchema(`${SCHEMA_BASE_URI}${file}`);
    if (!validateFn) throw new Error('ajv did not register it');
    return validateFn;
  } catch (error) {
    throw new Error(`schema ${file} does not compile: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

let shared: Validator | undefined;

/** The process-wide Validator, compiled on first use. */
export function getValidator(): Validator {
  shared ??= new Validator();
  return shared;
}
