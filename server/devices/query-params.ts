import { ApiError, type ErrorDetail } from '../http/api-error';

/**
 * Readers of query-string parameters. Each refusal is a 400 `validation_failed`
 * naming the parameter as `/query/<name>`, so callers see which one is wrong.
 */
export type QueryValues = Record<string, unknown>;

export class QueryReader {
  readonly details: ErrorDetail[] = [];

  constructor(private readonly query: QueryValues) {}

  /** The single string value of `name`; a repeated parameter is refused. */
  string(name: string, options: { pattern?: RegExp; max?: number } = {}): string | undefined {
    const raw = this.query[name];
    if (raw === undefined || raw === '') return undefined;
    if (typeof raw !== 'string') return this.fail(name, 'must be given once, as text');
    if (raw.length > (options.max ?? 256)) return this.fail(name, `must be at most ${options.max ?? 256} characters`);
    if (options.pattern && !options.pattern.test(raw)) return this.fail(name, `must match ${options.pattern.source}`);
    return raw;
  }

  /** Values given repeated (`?type=a&type=b`) or comma-separated (`?type=a,b`). */
  list(name: string, allowed: readonly string[]): string[] | undefined {
    const raw = this.query[name];
    if (raw === undefined || raw === '') return undefined;
    const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((value) => (typeof value === 'string' ? value.split(',') : [null]));
    if (parts.length > allowed.length * 2 || parts.some((part) => part === null)) return this.fail(name, 'must be text values');
    const unknown = parts.filter((part): part is string => part !== null && !allowed.includes(part));
    if (unknown.length > 0) {
      return this.fail(name, `has unknown value(s) ${unknown.slice(0, 3).map((v) => JSON.stringify(v.slice(0, 40))).join(', ')} (allowed: ${allowed.join(', ')})`);
    }
    return [...new Set(parts as string[])];
  }

  /** A time as an ISO 8601 date or date-time, or milliseconds since the epoch. */
  time(name: string): Date | undefined {
    const raw = this.string(name, { max: 64 });
    if (raw === undefined) return undefined;
    const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return this.fail(name, 'must be an ISO 8601 date or date-time (e.g. 2026-01-10T08:15:32Z) or milliseconds since 1970');
    return new Date(ms);
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.string(name, { max: 16 });
    if (raw === undefined) return undefined;
    const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) return this.fail(name, `must be a whole number from ${min} to ${max}`);
    return n;
  }

  /** Throws the 400 when any parameter was wrong. */
  done(): void {
    if (this.details.length === 0) return;
    throw new ApiError(400, 'validation_failed', `invalid query: ${this.details.map((d) => `${d.path} ${d.message}`).join('; ')}`, this.details);
  }

  private fail(name: string, message: string): undefined {
    this.details.push({ path: `/query/${name}`, message });
    return undefined;
  }
}
