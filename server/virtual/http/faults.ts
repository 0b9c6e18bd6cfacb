import type { RequestHandler } from 'express';
import { VirtualHttpError } from './errors';

/** A failure the virtual cloud will answer with, `count` times, instead of serving the request. */
export interface Fault {
  /** 429 or any 4xx/5xx status. */
  status: number;
  /** How many requests get it. */
  count: number;
  /** Sent as Retry-After (seconds), e.g. with a 429. */
  retryAfterSeconds?: number;
  /** Only requests whose path starts with this (default: every Yoto REST API path, not /authorize, /oauth or /virtual). */
  pathPrefix?: string;
}

/**
 * Injected failures for resilience demos and tests (`POST /virtual/faults`):
 * the next matching requests get the status instead of an answer, so a
 * client's retries and backoff can be watched working.
 */
export class FaultInjector {
  private faults: Fault[] = [];

  add(input: unknown): Fault {
    const fault = parseFault(input);
    this.faults.push(fault);
    return { ...fault };
  }

  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  clear(): void {
    this.faults = [];
  }

  /** Takes one use of the first fault that applies to this path. */
  take(path: string): Fault | undefined {
    const fault = this.faults.find((candidate) => appliesTo(candidate, path));
    if (!fault) return undefined;
    fault.count--;
    if (fault.count <= 0) this.faults = this.faults.filter((candidate) => candidate !== fault);
    return { ...fault };
  }

  middleware(): RequestHandler {
    return (req, _res, next) => {
      const fault = this.take(req.path);
      if (!fault) {
        next();
        return;
      }
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      next(new VirtualHttpError(fault.status, fault.status === 429 ? 'too_many_requests' : 'injected_fault', `fault injected through POST /virtual/faults (HTTP ${fault.status})`, undefined, headers));
    };
  }
}

function appliesTo(fault: Fault, path: string): boolean {
  if (path.startsWith('/virtual/')) return false;
  if (fault.pathPrefix !== undefined) return path.startsWith(fault.pathPrefix);
  return !path.startsWith('/authorize') && !path.startsWith('/oauth/');
}

function parseFault(input: unknown): Fault {
  if (typeof input !== 'object' || input === null) throw VirtualHttpError.badRequest('send {status, count, retryAfterSeconds?, pathPrefix?}');
  const { status, count, retryAfterSeconds, pathPrefix } = input as Record<string, unknown>;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
    throw VirtualHttpError.badRequest('status must be an HTTP error status from 400 to 599');
  }
  const times = count === undefined ? 1 : count;
  if (typeof times !== 'number' || !Number.isInteger(times) || times < 1 || times > 1000) {
    throw VirtualHttpError.badRequest('count must be a whole number from 1 to 1000');
  }
  if (retryAfterSeconds !== undefined && (typeof retryAfterSeconds !== 'number' || retryAfterSeconds < 0 || retryAfterSeconds > 3600)) {
    throw VirtualHttpError.badRequest('retryAfterSeconds must be a number from 0 to 3600');
  }
  if (pathPrefix !== undefined && (typeof pathPrefix !== 'string' || !pathPrefix.startsWith('/'))) {
    throw VirtualHttpError.badRequest('pathPrefix must be a path starting with "/"');
  }
  return {
    status,
    count: times,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(pathPrefix !== undefined ? { pathPrefix } : {}),
  };
}
