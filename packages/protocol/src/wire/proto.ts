/**
 * A strict subset of protocol buffers for Parley's messages: varint (uint32/bool) and
 * length-delimited (bytes) fields only, encoded into exactly sized buffers. A test checks the
 * encoder byte for byte against `@bufbuild/protobuf`'s reference `BinaryWriter`.
 *
 * Strictness gives every valid message exactly one encoding: fields must appear once, in
 * ascending field-number order, with the declared wire type and a minimal varint; unknown fields,
 * over-long lengths and trailing bytes are refused. Every failure is
 * `ProtocolError('MALFORMED_MESSAGE')` naming the field.
 */
import { ProtocolError } from '../errors.ts';

/** How a field is declared in a schema: its number, kind and bounds. */
export type FieldSpec =
  | { readonly no: number; readonly name: string; readonly kind: 'uint32'; readonly optional?: boolean }
  | { readonly no: number; readonly name: string; readonly kind: 'bool'; readonly optional?: boolean }
  | {
      readonly no: number;
      readonly name: string;
      readonly kind: 'bytes';
      readonly optional?: boolean;
      /** Exact length, or [min, max]. */
      readonly length: number | readonly [number, number];
    };

/** Decoded values by field name: numbers, booleans or byte copies (never aliasing the input). */
export type FieldValues = Record<string, number | boolean | Uint8Array | undefined>;

function malformed(what: string): never {
  throw new ProtocolError('MALFORMED_MESSAGE', what);
}

/** Reads a minimal varint of at most 32 bits at `pos`; returns [value, next position]. */
function readVarint32(bytes: Uint8Array, pos: number, field: string): [number, number] {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) malformed(`${field}: truncated varint`);
    const b = bytes[pos++] as number;
    if (i === 4 && b > 0x0f) malformed(`${field}: integer exceeds 32 bits`);
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) malformed(`${field}: non-minimal varint`);
      return [value, pos];
    }
  }
  return malformed(`${field}: integer exceeds 32 bits`);
}

const indexes = new WeakMap<readonly FieldSpec[], (FieldSpec | undefined)[]>();

/** Field specs indexed by number, computed once per schema (decoding is on the hot path). */
function indexOf(schema: readonly FieldSpec[]): (FieldSpec | undefined)[] {
  let index = indexes.get(schema);
  if (index === undefined) {
    index = [];
    for (const spec of schema) index[spec.no] = spec;
    indexes.set(schema, index);
  }
  return index;
}

/**
 * Decodes `bytes` against `schema` (sorted by field number). Required fields must be present;
 * anything outside the schema is refused.
 */
export function decodeFields(bytes: Uint8Array, schema: readonly FieldSpec[], message: string): FieldValues {
  const out: FieldValues = {};
  const index = indexOf(schema);
  let pos = 0;
  let lastNo = 0;
  while (pos < bytes.length) {
    let tag: number;
    [tag, pos] = readVarint32(bytes, pos, `${message} tag`);
    const no = Math.floor(tag / 8);
    const wireType = tag & 7;
    const spec = index[no];
    if (spec === undefined) malformed(`${message}: unknown field ${no}`);
    if (no <= lastNo) malformed(`${message}.${spec.name}: repeated or out-of-order field`);
    lastNo = no;
    const where = `${message}.${spec.name}`;
    if (spec.kind === 'bytes') {
      if (wireType !== 2) malformed(`${where}: wrong wire type`);
      let len: number;
      [len, pos] = readVarint32(bytes, pos, where);
      if (pos + len > bytes.length) malformed(`${where}: length exceeds message`);
      const [min, max] = typeof spec.length === 'number' ? [spec.length, spec.length] : spec.length;
      if (len < min || len > max) malformed(`${where}: length ${len} out of bounds`);
      out[spec.name] = bytes.slice(pos, pos + len);
      pos += len;
    } else {
      if (wireType !== 0) malformed(`${where}: wrong wire type`);
      let value: number;
      [value, pos] = readVarint32(bytes, pos, where);
      if (spec.kind === 'bool') {
        if (value !== 1) malformed(`${where}: bool must be encoded as 1 or omitted`);
        out[spec.name] = true;
      } else {
        out[spec.name] = value;
      }
    }
  }
  for (const spec of schema) {
    if (out[spec.name] !== undefined) continue;
    if (spec.kind === 'bool') out[spec.name] = false;
    else if (spec.kind === 'uint32' && !spec.optional) out[spec.name] = 0;
    else if (!spec.optional) malformed(`${message}.${spec.name}: missing`);
  }
  return out;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  let v = n;
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/**
 * Encodes `values` against `schema` in field order, into one exactly sized buffer (standard
 * protobuf wire encoding; this is on the per-message path). Proto3 defaults (0, false) of
 * non-optional scalars are omitted, exactly as `decodeFields` expects, so encodings are canonical.
 */
export function encodeFields(values: FieldValues, schema: readonly FieldSpec[], message: string): Uint8Array {
  let size = 0;
  const present: [FieldSpec, number | Uint8Array][] = [];
  for (const spec of schema) {
    const v = values[spec.name];
    if (v === undefined) {
      if (!spec.optional && spec.kind === 'bytes') {
        throw new ProtocolError('INVALID_ARGUMENT', `${message}.${spec.name} is required`);
      }
      continue;
    }
    if (spec.kind === 'bytes') {
      if (!(v instanceof Uint8Array)) throw new ProtocolError('INVALID_ARGUMENT', `${message}.${spec.name}: bytes`);
      const [min, max] = typeof spec.length === 'number' ? [spec.length, spec.length] : spec.length;
      if (v.length < min || v.length > max) {
        throw new ProtocolError('INVALID_ARGUMENT', `${message}.${spec.name}: length ${v.length} out of bounds`);
      }
      size += varintSize(spec.no * 8 + 2) + varintSize(v.length) + v.length;
      present.push([spec, v]);
    } else if (spec.kind === 'bool') {
      if (v === true) {
        size += varintSize(spec.no * 8) + 1;
        present.push([spec, 1]);
      }
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new ProtocolError('INVALID_ARGUMENT', `${message}.${spec.name}: expected uint32`);
      }
      if (v !== 0 || spec.optional) {
        size += varintSize(spec.no * 8) + varintSize(v);
        present.push([spec, v]);
      }
    }
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const [spec, v] of present) {
    if (v instanceof Uint8Array) {
      pos = writeVarint(out, pos, spec.no * 8 + 2);
      pos = writeVarint(out, pos, v.length);
      out.set(v, pos);
      pos += v.length;
    } else {
      pos = writeVarint(out, pos, spec.no * 8);
      pos = writeVarint(out, pos, v);
    }
  }
  return out;
}

/** Prefixes a body with the two-byte envelope `[version][type]`. */
export function withEnvelope(version: number, type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out[0] = version;
  out[1] = type;
  out.set(body, 2);
  return out;
}
