import type { ErrorObject } from 'ajv/dist/2020';
import type { ApiErrorDetail } from '../types/schemas';

/** One problem with a validated value: a JSON pointer ("/" for the whole value) and what is wrong there. */
export type ErrorDetail = ApiErrorDetail;

type SchemaNode = Record<string, unknown>;

/**
 * Turns ajv's errors (compiled with `allErrors` and `verbose`) into details a person can act on:
 * one entry per problem, the offending field in the path, allowed values in the message, and
 * the alternatives of an anyOf/oneOf reduced to the branch the value was meant for.
 */
export function describeErrors(errors: readonly ErrorObject[]): ErrorDetail[] {
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const detail of collapseAlternatives(errors).flatMap(toDetails)) {
    const key = `${detail.path}\u0000${detail.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    details.push(detail);
  }
  return details;
}

type Item = ErrorObject | ErrorDetail;

function isAjvError(item: Item): item is ErrorObject {
  return 'keyword' in item;
}

function isAlternatives(error: ErrorObject): boolean {
  return error.keyword === 'anyOf' || error.keyword === 'oneOf';
}

/**
 * Replaces each failed anyOf/oneOf and its branches' errors by what matters. ajv reports every
 * branch's errors; only errors written inline in a branch carry its schemaPath, so branches
 * should be inline (a record union uses `discriminator` instead, which reports one branch).
 */
function collapseAlternatives(errors: readonly ErrorObject[]): Item[] {
  let items: Item[] = [...errors];
  const outermostFirst = errors.filter(isAlternatives).sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const alternatives of outermostFirst) {
    if (!items.includes(alternatives)) continue;
    const prefix = `${alternatives.schemaPath}/`;
    const members = items.filter((item): item is ErrorObject => isAjvError(item) && item.schemaPath.startsWith(prefix));
    const replacement = resolveAlternatives(alternatives, members);
    const consumed = new Set<Item>(members);
    // ajv reports the anyOf/oneOf error after its branches' errors: put the replacement there.
    const at = items.indexOf(alternatives);
    items = [...items.slice(0, at).filter((item) => !consumed.has(item)), ...replacement, ...items.slice(at + 1)];
  }
  return items;
}

function resolveAlternatives(error: ErrorObject, members: ErrorObject[]): Item[] {
  const branches = Array.isArray(error.schema) ? (error.schema as unknown[]) : [];
  const path = pointer(error.instancePath);
  if (branches.length > 0 && branches.every(isPresenceBranch)) {
    return [{ path, message: presenceMessage(error, branches as SchemaNode[]) }];
  }
  if (error.params.passingSchemas != null) {
    return [{ path, message: `must match exactly one of ${describeBranches(branches)}` }];
  }
  const byBranch = groupByBranch(members, `${error.schemaPath}/`);
  const candidates = [...byBranch.values()].filter((branchErrors) => !isWrongKind(branchErrors, error.instancePath));
  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (only && only.every((e) => e.instancePath.startsWith(`${error.instancePath}/`))) {
    return collapseAlternatives(only);
  }
  return [{ path, message: `must be ${describeBranches(branches)}` }];
}

function groupByBranch(members: ErrorObject[], prefix: string): Map<string, ErrorObject[]> {
  const groups = new Map<string, ErrorObject[]>();
  for (const member of members) {
    const index = member.schemaPath.slice(prefix.length).split('/')[0] ?? '';
    groups.set(index, [...(groups.get(index) ?? []), member]);
  }
  return groups;
}

/** A branch whose type or constant does not fit the value was not the one the sender meant. */
function isWrongKind(branchErrors: ErrorObject[], instancePath: string): boolean {
  return branchErrors.some((e) => e.instancePath === instancePath && ['type', 'const', 'enum'].includes(e.keyword));
}

/** `{required: [...]}` (with at most `properties: {x: true}` and a description): "one of these fields". */
function isPresenceBranch(branch: unknown): boolean {
  if (!isNode(branch) || !Array.isArray(branch.required)) return false;
  const allowed = ['description', 'required', 'properties'];
  const properties = isNode(branch.properties) ? Object.values(branch.properties) : [];
  return Object.keys(branch).every((key) => allowed.includes(key)) && properties.every((value) => value === true);
}

function presenceMessage(error: ErrorObject, branches: SchemaNode[]): string {
  const fields = branches.flatMap((branch) => branch.required as string[]);
  if (error.keyword === 'anyOf') return `must have at least one of ${fields.join(', ')}`;
  return error.params.passingSchemas != null ? `must have only one of ${fields.join(', ')}` : `must have ${orList(fields)}`;
}

function describeBranches(branches: unknown[]): string {
  return orList(branches.map(describeBranch));
}

function describeBranch(branch: unknown): string {
  if (!isNode(branch)) return String(branch);
  if (typeof branch.description === 'string') return branch.description;
  if (typeof branch.title === 'string') return branch.title;
  if ('const' in branch) return show(branch.const);
  return typeof branch.type === 'string' ? withArticle(branch.type) : 'an alternative';
}

function toDetails(item: Item): ErrorDetail[] {
  if (!isAjvError(item)) return [item];
  const at = item.instancePath;
  const params = item.params as Record<string, unknown>;
  switch (item.keyword) {
    case 'required':
      return [{ path: join(at, String(params.missingProperty)), message: 'is required' }];
    case 'additionalProperties':
      return [{ path: join(at, String(params.additionalProperty)), message: notAllowed(item.parentSchema) }];
    case 'discriminator':
      return [discriminatorDetail(item, params)];
    case 'if':
      return []; // the failed then/else branch reports what is wrong
    default:
      return [{ path: pointer(at), message: messageFor(item.keyword, params, item.message) }];
  }
}

function messageFor(keyword: string, params: Record<string, unknown>, fallback: string | undefined): string {
  switch (keyword) {
    case 'type':
      return `must be ${orList(String(params.type).split(',').map(withArticle))}`;
    case 'enum':
      return `must be one of ${list(params.allowedValues)}`;
    case 'const':
      return `must be ${show(params.allowedValue)}`;
    case 'format':
      return formatMessage(String(params.format));
    case 'pattern':
      return `must match the pattern ${String(params.pattern)}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters long`;
    case 'minItems':
      return `must have at least ${count(params.limit, 'item')}`;
    case 'maxItems':
      return `must have at most ${count(params.limit, 'item')}`;
    case 'minProperties':
      return `must have at least ${count(params.limit, 'property', 'properties')}`;
    case 'maxProperties':
      return `must have at most ${count(params.limit, 'property', 'properties')}`;
    case 'uniqueItems':
      return `must not contain duplicates (items ${String(params.j)} and ${String(params.i)} are the same)`;
    default:
      return fallback ?? 'is invalid';
  }
}

const FORMAT_MESSAGES: Record<string, string> = {
  'date-time': 'must be a date-time with a time zone, e.g. 2026-01-10T08:15:32Z',
  date: 'must be a date, e.g. 2026-01-10',
  email: 'must be an email address',
  uri: 'must be an absolute URL',
};

function formatMessage(format: string): string {
  return FORMAT_MESSAGES[format] ?? `must be a valid ${format}`;
}

function notAllowed(parentSchema: unknown): string {
  const properties = isNode(parentSchema) && isNode(parentSchema.properties) ? Object.keys(parentSchema.properties) : [];
  return properties.length > 0 ? `is not allowed (allowed: ${properties.join(', ')})` : 'is not allowed';
}

/** `discriminator` picks the oneOf branch by a tag such as `command`; its errors mean the tag itself is wrong. */
function discriminatorDetail(error: ErrorObject, params: Record<string, unknown>): ErrorDetail {
  const tag = String(params.tag);
  const values = list(tagValues(error.parentSchema, tag));
  const path = join(error.instancePath, tag);
  if (params.tagValue === undefined) return { path, message: `is required (one of ${values})` };
  return { path, message: `must be one of ${values}` };
}

function tagValues(parentSchema: unknown, tag: string): unknown[] {
  const branches = isNode(parentSchema) && Array.isArray(parentSchema.oneOf) ? parentSchema.oneOf : [];
  return branches.flatMap((branch: unknown) => {
    const property = isNode(branch) && isNode(branch.properties) ? branch.properties[tag] : undefined;
    if (!isNode(property)) return [];
    if ('const' in property) return [property.const];
    return Array.isArray(property.enum) ? property.enum : [];
  });
}

function isNode(value: unknown): value is SchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ajv's instancePath is already a JSON pointer; the whole value is "/" so a path is never empty. */
function pointer(instancePath: string): string {
  return instancePath === '' ? '/' : instancePath;
}

function join(instancePath: string, property: string): string {
  return `${instancePath}/${property.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function list(values: unknown): string {
  return Array.isArray(values) ? values.map(show).join(', ') : show(values);
}

function orList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function withArticle(type: string): string {
  if (type === 'null') return 'null';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function count(limit: unknown, singular: string, plural = `${singular}s`): string {
  return `${String(limit)} ${limit === 1 ? singular : plural}`;
}
