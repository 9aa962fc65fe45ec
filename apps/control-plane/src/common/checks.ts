/**
 * Checks for payloads that do not come through a class-validator DTO (agent messages): each returns
 * the value with only the fields it names, or throws a 400 DomainError naming the bad field.
 * Unknown fields are ignored, so an older control plane keeps working with a newer agent.
 */
import { isIP } from 'node:net';
import { isUuid } from '@berth/core';
import { DomainError, ErrorCode } from './errors';

/** Names, ids and reasons: longest text a check accepts unless told otherwise. */
export const MAX_TEXT = 64 * 1024;

export type Check<T> = (value: unknown, path: string) => T;

export const bad = (path: string, what: string) => new DomainError(ErrorCode.InvalidInput, `${path} ${what}`);

export const text =
  (max = MAX_TEXT, allowEmpty = false): Check<string> =>
  (v, path) => {
    if (typeof v !== 'string') throw bad(path, 'must be a string');
    if (!allowEmpty && v.length === 0) throw bad(path, 'must not be empty');
    if (v.length > max) throw bad(path, `must be at most ${max} characters`);
    return v;
  };
export const uuid: Check<string> = (v, path) => {
  if (!isUuid(v)) throw bad(path, 'must be a UUID');
  return v;
};
export const int =
  (min: number, max: number): Check<number> =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(path, `must be a whole number from ${min} to ${max}`);
    return v;
  };
export const number =
  (min: number, max: number): Check<number> =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(path, `must be a number from ${min} to ${max}`);
    return v;
  };
export const positive: Check<number> = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(path, 'must be a number above 0');
  return v;
};
export const bool: Check<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw bad(path, 'must be true or false');
  return v;
};
/** An ISO 8601 date-time (date, `T`, a time Date.parse reads): what `isoDate` accepts. */
export const isIsoDateTime = (v: unknown): v is string => typeof v === 'string' && ISO_DATE_T.test(v) && !Number.isNaN(Date.parse(v));
const ISO_DATE_T = /^\d{4}-\d\d-\d\dT/;
export const isoDate: Check<string> = (v, path) => {
  if (!isIsoDateTime(v)) throw bad(path, 'must be an ISO 8601 date-time');
  return v;
};
export const ip: Check<string> = (v, path) => {
  if (typeof v !== 'string' || isIP(v) === 0) throw bad(path, 'must be an IPv4 or IPv6 address');
  return v;
};
export const oneOf =
  <T extends string>(...values: T[]): Check<T> =>
  (v, path) => {
    if (!values.includes(v as T)) throw bad(path, `must be one of ${values.join(', ')}`);
    return v as T;
  };
export const list =
  <T>(item: Check<T>, max: number): Check<T[]> =>
  (v, path) => {
    if (!Array.isArray(v)) throw bad(path, 'must be an array');
    if (v.length > max) throw bad(path, `must have at most ${max} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, path) =>
    v === undefined || v === null ? undefined : check(v, path);

type Shape = Record<string, Check<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

export function object<S extends Shape>(shape: S): Check<Parsed<S>> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path || 'the message', 'must be an object');
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const value = check((v as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      if (value !== undefined) out[key] = value;
    }
    return out as Parsed<S>;
  };
}

/** A top-level message check: the payload must be an object; the message name goes into the error. */
export function message<T>(name: string, check: Check<T>): (payload: unknown) => T {
  return (payload) => {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new DomainError(ErrorCode.InvalidInput, `the ${name} message must be an object`);
    }
    return check(payload, '');
  };
}
