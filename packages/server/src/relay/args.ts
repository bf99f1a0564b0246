/**
 * A typed reader over one request's `args`: every check names the field it rejects (never its
 * value) and throws a `ServerError` with `BAD_FRAME` (or the more precise code the relay API
 * defines: `INVALID_NAME`, `MESSAGE_TOO_LARGE`).
 */
import {
  ACCOUNT_NAME_MAX_LENGTH,
  ACCOUNT_NAME_MIN_LENGTH,
  ACCOUNT_NAME_PATTERN,
  fromBase64Url,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(what: string): ServerError {
  return new ServerError('BAD_FRAME', `expected ${what}`);
}

/** A typed reader over one request's `args`. */
export interface Args {
  string(name: string, max: number): string;
  optionalString(name: string, max: number): string | undefined;
  accountName(name: string): string;
  u32(name: string): number;
  /** A whole number from 0 to 2^32-1, or undefined when absent. */
  optionalU32(name: string): number | undefined;
  bytes(name: string, length?: number, max?: number): Uint8Array;
  /** `bytes` with the (canonical, hence re-encodable) base64url text it was decoded from. */
  bytesAndText(name: string, max: number): { bytes: Uint8Array; text: string };
  optionalBytes(name: string, max: number): Uint8Array | undefined;
  /** A list of at most `max` base64url strings of at most `maxEach` bytes each (empty when absent). */
  bytesList(name: string, max: number, maxEach: number): Uint8Array[];
  optionalObject(name: string): Args | undefined;
  objects(name: string, max: number): Args[];
  optionalU32List(name: string, max: number): number[] | undefined;
  optionalBoolean(name: string): boolean | undefined;
}

/** Decodes one base64url field, checking its exact `length` or its `max`; `label()` names it in errors. */
function decodeBytes(label: () => string, value: unknown, length?: number, max?: number): Uint8Array {
  let out: Uint8Array;
  try {
    // The protocol's decoder names the field only in its error, which is replaced here.
    out = fromBase64Url('bytes', value);
  } catch {
    throw bad(`${label()} as base64url`);
  }
  if (length !== undefined && out.length !== length) throw bad(`${label()} of ${length} bytes`);
  if (max !== undefined && out.length > max)
    throw new ServerError('MESSAGE_TOO_LARGE', `${label()} is over ${max} bytes`);
  return out;
}

/**
 * The `Args` reader. A class, not an object of closures: every send reads two of them (the
 * request's and its message's), and field labels are built only for an error — the reader
 * runs once per frame at full relay load, where allocation showed up as GC time.
 */
class ArgsReader implements Args {
  constructor(
    private readonly a: Record<string, unknown>,
    private readonly prefix: string,
  ) {}

  private at(name: string): string {
    return `${this.prefix}.${name}`;
  }

  string(name: string, max: number): string {
    const v = this.a[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      throw bad(`${this.at(name)} as a string of 1..${max}`);
    return v;
  }

  optionalString(name: string, max: number): string | undefined {
    return this.a[name] === undefined ? undefined : this.string(name, max);
  }

  accountName(name: string): string {
    const v = this.a[name];
    if (typeof v !== 'string' || !ACCOUNT_NAME_PATTERN.test(v)) {
      throw new ServerError(
        'INVALID_NAME',
        `expected ${this.at(name)} of ${ACCOUNT_NAME_MIN_LENGTH}-${ACCOUNT_NAME_MAX_LENGTH} characters from [a-z0-9_.-]`,
      );
    }
    return v;
  }

  u32(name: string): number {
    const v = this.a[name];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw bad(`${this.at(name)} as a u32`);
    return v as number;
  }

  optionalU32(name: string): number | undefined {
    return this.a[name] === undefined ? undefined : this.u32(name);
  }

  bytes(name: string, length?: number, max?: number): Uint8Array {
    return decodeBytes(() => this.at(name), this.a[name], length, max);
  }

  bytesAndText(name: string, max: number): { bytes: Uint8Array; text: string } {
    const bytes = this.bytes(name, undefined, max);
    return { bytes, text: this.a[name] as string };
  }

  optionalBytes(name: string, max: number): Uint8Array | undefined {
    return this.a[name] === undefined ? undefined : this.bytes(name, undefined, max);
  }

  bytesList(name: string, max: number, maxEach: number): Uint8Array[] {
    const v = this.a[name];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > max) throw bad(`${this.at(name)} as a list of at most ${max}`);
    return v.map((item, i) => decodeBytes(() => `${this.at(name)}[${i}]`, item, undefined, maxEach));
  }

  optionalObject(name: string): Args | undefined {
    const v = this.a[name];
    if (v === undefined) return undefined;
    if (!isObject(v)) throw bad(`${this.at(name)} as an object`);
    return new ArgsReader(v, this.at(name));
  }

  objects(name: string, max: number): Args[] {
    const v = this.a[name];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > max) throw bad(`${this.at(name)} as a list of at most ${max}`);
    const prefix = this.at(name);
    return v.map((item, i) => {
      if (!isObject(item)) throw bad(`${prefix}[${i}] as an object`);
      return new ArgsReader(item, `${prefix}[${i}]`);
    });
  }

  optionalU32List(name: string, max: number): number[] | undefined {
    const v = this.a[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length > max || !v.every((x) => Number.isInteger(x) && x > 0 && x <= 0xffffffff)) {
      throw bad(`${this.at(name)} as a list of at most ${max} device ids`);
    }
    return v as number[];
  }

  optionalBoolean(name: string): boolean | undefined {
    const v = this.a[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw bad(`${this.at(name)} as a boolean`);
    return v;
  }
}

/** Wraps a request's `args` object in field readers. */
export function readArgs(args: unknown, prefix = 'args'): Args {
  return new ArgsReader(isObject(args) ? args : {}, prefix);
}
