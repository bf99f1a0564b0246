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

/** Decoded values by field name: numbers, booleans or bytes (copies: never aliasing the input). */
export type FieldValues = Record<string, number | boolean | Uint8Array | undefined>;

function malformed(what: string): never {
  throw new ProtocolError('MALFORMED_MESSAGE', what);
}

/** Where `readVarint32` stopped; returning it beside the value would allocate on every field. */
let varintEnd = 0;

/** Reads a minimal varint of at most 32 bits at `pos` and sets `varintEnd` past it. */
function readVarint32(bytes: Uint8Array, pos: number, message: string, field: string | undefined): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) malformed(`${where(message, field)}: truncated varint`);
    const b = bytes[pos++] as number;
    if (i === 4 && b > 0x0f) malformed(`${where(message, field)}: integer exceeds 32 bits`);
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) malformed(`${where(message, field)}: non-minimal varint`);
      varintEnd = pos;
      return value;
    }
  }
  return malformed(`${where(message, field)}: integer exceeds 32 bits`);
}

/** Names a field in an error (built only when there is an error: decoding is on the hot path). */
function where(message: string, field: string | undefined): string {
  return field === undefined ? `${message} tag` : `${message}.${field}`;
}

/** A field spec with its length bounds resolved, so decoding allocates nothing per field. */
interface IndexedSpec {
  readonly spec: FieldSpec;
  readonly min: number;
  readonly max: number;
}

const indexes = new WeakMap<readonly FieldSpec[], (IndexedSpec | undefined)[]>();

/** Field specs indexed by number, computed once per schema (decoding is on the hot path). */
function indexOf(schema: readonly FieldSpec[]): (IndexedSpec | undefined)[] {
  let index = indexes.get(schema);
  if (index === undefined) {
    index = [];
    for (const spec of schema) {
      const [min, max] =
        spec.kind !== 'bytes' ? [0, 0] : typeof spec.length === 'number' ? [spec.length, spec.length] : spec.length;
      index[spec.no] = { spec, min, max };
    }
    indexes.set(schema, index);
  }
  return index;
}

/**
 * Decodes `bytes` against `schema` (sorted by field number). Required fields must be present;
 * anything outside the schema is refused. The input is copied once and bytes fields are views of
 * that copy: they never alias `bytes`, and a record costs one allocation instead of one per field.
 */
export function decodeFields(bytes: Uint8Array, schema: readonly FieldSpec[], message: string): FieldValues {
  const out: FieldValues = {};
  const index = indexOf(schema);
  let copy: Uint8Array | undefined;
  let pos = 0;
  let lastNo = 0;
  while (pos < bytes.length) {
    const tag = readVarint32(bytes, pos, message, undefined);
    pos = varintEnd;
    const no = Math.floor(tag / 8);
    const wireType = tag & 7;
    const entry = index[no];
    if (entry === undefined) malformed(`${message}: unknown field ${no}`);
    const spec = entry.spec;
    const name = spec.name;
    if (no <= lastNo) malformed(`${where(message, name)}: repeated or out-of-order field`);
    lastNo = no;
    if (spec.kind === 'bytes') {
      if (wireType !== 2) malformed(`${where(message, name)}: wrong wire type`);
      const len = readVarint32(bytes, pos, message, name);
      pos = varintEnd;
      if (pos + len > bytes.length) malformed(`${where(message, name)}: length exceeds message`);
      if (len < entry.min || len > entry.max) malformed(`${where(message, name)}: length ${len} out of bounds`);
      copy ??= bytes.slice();
      out[spec.name] = copy.subarray(pos, pos + len);
      pos += len;
    } else {
      if (wireType !== 0) malformed(`${where(message, name)}: wrong wire type`);
      const value = readVarint32(bytes, pos, message, name);
      pos = varintEnd;
      if (spec.kind === 'bool') {
        if (value !== 1) malformed(`${where(message, name)}: bool must be encoded as 1 or omitted`);
        out[spec.name] = true;
      } else {
        if (value === 0 && spec.optional !== true) malformed(`${where(message, name)}: 0 must be omitted`);
        out[spec.name] = value;
      }
    }
  }
  for (const s of schema) {
    if (out[s.name] !== undefined) continue;
    if (s.kind === 'bool') out[s.name] = false;
    else if (s.kind === 'uint32' && !s.optional) out[s.name] = 0;
    else if (!s.optional) malformed(`${message}.${s.name}: missing`);
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

/** True when a field is written: bytes when present, bool when true, uint32 when non-zero or optional. */
function isWritten(spec: FieldSpec, v: unknown): boolean {
  if (v === undefined) return false;
  if (spec.kind === 'bool') return v === true;
  if (spec.kind === 'uint32') return v !== 0 || spec.optional === true;
  return true;
}

/**
 * Encodes `values` against `schema` in field order, into one exactly sized buffer (standard
 * protobuf wire encoding; this is on the per-message path). Proto3 defaults (0, false) of
 * non-optional scalars are omitted, exactly as `decodeFields` expects, so encodings are canonical.
 * A first pass checks every value and sizes the buffer; a second writes it.
 */
export function encodeFields(values: FieldValues, schema: readonly FieldSpec[], message: string): Uint8Array {
  const index = indexOf(schema);
  let size = 0;
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
      const { min, max } = index[spec.no] as IndexedSpec;
      if (v.length < min || v.length > max) {
        throw new ProtocolError('INVALID_ARGUMENT', `${message}.${spec.name}: length ${v.length} out of bounds`);
      }
      size += varintSize(spec.no * 8 + 2) + varintSize(v.length) + v.length;
    } else if (spec.kind === 'bool') {
      if (isWritten(spec, v)) size += varintSize(spec.no * 8) + 1;
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new ProtocolError('INVALID_ARGUMENT', `${message}.${spec.name}: expected uint32`);
      }
      if (isWritten(spec, v)) size += varintSize(spec.no * 8) + varintSize(v);
    }
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const spec of schema) {
    const v = values[spec.name];
    if (!isWritten(spec, v)) continue;
    if (v instanceof Uint8Array) {
      pos = writeVarint(out, pos, spec.no * 8 + 2);
      pos = writeVarint(out, pos, v.length);
      out.set(v, pos);
      pos += v.length;
    } else {
      pos = writeVarint(out, pos, spec.no * 8);
      pos = writeVarint(out, pos, v === true ? 1 : (v as number));
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
