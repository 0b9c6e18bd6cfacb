/**
 * Checks of the small JSON bodies the accounts routes accept. Every refusal is a 400
 * `validation_failed` naming each offending field as a JSON pointer ("/password"), like the
 * schema validator's details, so the panel can show the message beside the field.
 */
import { ApiError, type ErrorDetail } from '../http/api-error';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords';

export type FieldSpec =
  | { kind: 'string'; min?: number; max: number; format?: 'email' | 'password' | 'name' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'boolean' };

export interface BodySpec {
  required: Record<string, FieldSpec>;
  optional?: Record<string, FieldSpec>;
  /** At least one of the optional fields must be present (PATCH). */
  nonEmpty?: boolean;
}

export const EMAIL_MAX_LENGTH = 254;
export const NAME_MAX_LENGTH = 255;
export const TOKEN_MAX_LENGTH = 4096;

// ajv-formats' "email" (fast mode), so what passes here also passes user.schema.json.
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

export const email: FieldSpec = { kind: 'string', max: EMAIL_MAX_LENGTH, format: 'email' };
export const password: FieldSpec = { kind: 'string', max: PASSWORD_MAX_LENGTH, format: 'password' };
/** A password typed at sign-in: checked for type and size only, so a short one gets the same answer as a wrong one. */
export const anyPassword: FieldSpec = { kind: 'string', min: 1, max: PASSWORD_MAX_LENGTH };
export const name: FieldSpec = { kind: 'string', min: 1, max: NAME_MAX_LENGTH, format: 'name' };
export const token: FieldSpec = { kind: 'string', min: 1, max: TOKEN_MAX_LENGTH };
export const role: FieldSpec = { kind: 'enum', values: ['admin', 'member'] };
export const flag: FieldSpec = { kind: 'boolean' };

/** The checked body, its strings trimmed (passwords and tokens excepted); throws a 400 ApiError otherwise. */
export function parseBody(body: unknown, spec: BodySpec): Record<string, string | boolean> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'validation_failed', 'the request body must be a JSON object (send Content-Type: application/json)', [
      { path: '/', message: 'must be an object' },
    ]);
  }
  const input = body as Record<string, unknown>;
  const fields: Record<string, FieldSpec> = { ...spec.required, ...spec.optional };
  const details: ErrorDetail[] = [];
  const result: Record<string, string | boolean> = {};
  for (const key of Object.keys(input)) {
    if (!Object.prototype.hasOwnProperty.call(fields, key)) {
      details.push({ path: pointer(key.length > 64 ? `${key.slice(0, 64)}...` : key), message: `is not allowed (allowed: ${Object.keys(fields).join(', ')})` });
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    const value = Object.prototype.hasOwnProperty.call(input, key) ? input[key] : undefined;
    if (value === undefined) {
      if (Object.prototype.hasOwnProperty.call(spec.required, key)) details.push({ path: pointer(key), message: 'is required' });
      continue;
    }
    const checked = checkField(value, field);
    if (typeof checked === 'object') details.push({ path: pointer(key), message: checked.problem });
    else result[key] = checked;
  }
  if (spec.nonEmpty && details.length === 0 && Object.keys(result).length === 0) {
    details.push({ path: '/', message: `must have at least one of ${Object.keys(fields).join(', ')}` });
  }
  if (details.length > 0) {
    const summary = details.slice(0, 5).map((d) => `${d.path} ${d.message}`).join('; ');
    throw new ApiError(400, 'validation_failed', `the request is invalid: ${summary}`, details);
  }
  return result;
}

function checkField(value: unknown, field: FieldSpec): string | boolean | { problem: string } {
  switch (field.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? value : { problem: 'must be true or false' };
    case 'enum':
      return typeof value === 'string' && field.values.includes(value) ? value : { problem: `must be one of ${field.values.join(', ')}` };
    case 'string':
      return checkString(value, field);
  }
}

function checkString(value: unknown, field: Extract<FieldSpec, { kind: 'string' }>): string | { problem: string } {
  if (typeof value !== 'string') return { problem: 'must be a string' };
  if (value.length > field.max) return { problem: `must be at most ${field.max} characters long` };
  switch (field.format) {
    case 'password':
      if ([...value].length < PASSWORD_MIN_LENGTH) return { problem: `must be at least ${PASSWORD_MIN_LENGTH} characters long` };
      return value;
    case 'email': {
      const trimmed = value.trim();
      return EMAIL.test(trimmed) ? trimmed.toLowerCase() : { problem: 'must be an email address, e.g. parent@example.com' };
    }
    case 'name': {
      const trimmed = value.trim();
      return trimmed.length >= 1 ? trimmed : { problem: 'must not be empty' };
    }
    default:
      if (value.length < (field.min ?? 0)) return { problem: 'must not be empty' };
      return value;
  }
}

function pointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
