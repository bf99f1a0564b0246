/**
 * A small declarative schema for content records (docs/protocol.md §12.1): each content type
 * lists its fields once, with their type and bounds, and one checker walks it. A failure names
 * the field and says what was expected, never the value (content may be anyone's plaintext).
 */

/** A field's rule. `optional` fields may be absent (`undefined`); `nullable` ones may be `null`. */
export type FieldRule =
  | {
      readonly type: 'string';
      readonly min?: number;
      /** Most UTF-16 code units. */
      readonly max?: number;
      /** Most UTF-8 bytes. */
      readonly maxBytes?: number;
      /** Most Unicode code points. */
      readonly maxChars?: number;
      readonly pattern?: RegExp;
      readonly optional?: boolean;
      readonly nullable?: boolean;
    }
  | {
      readonly type: 'int';
      readonly min?: number;
      /** The only values allowed (say the disappearing-message timers). */
      readonly allowed?: readonly number[];
      readonly optional?: boolean;
    }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly optional?: boolean }
  | {
      readonly type: 'list';
      readonly of: FieldRule;
      readonly min: number;
      readonly max: number;
      readonly optional?: boolean;
    }
  | { readonly type: 'object'; readonly fields: Schema; readonly optional?: boolean };

/** The fields of one record, by name. */
export type Schema = Readonly<Record<string, FieldRule>>;

/**
 * A cross-field rule: when field `when` is exactly `is`, field `field` follows `rule` instead of
 * its own (say: a timer change must carry its timer, and only a timer change may say 0).
 */
export interface Condition {
  readonly when: string;
  readonly is: string;
  readonly field: string;
  readonly rule: FieldRule;
}

/**
 * `schema` as it applies to `record`: each condition that holds replaces its field's rule. The
 * result is an ordinary schema, checked and picked as any other.
 */
export function withConditions(
  record: Record<string, unknown>,
  schema: Schema,
  conditions: readonly Condition[] = [],
): Schema {
  let out = schema;
  for (const c of conditions) {
    if (Object.hasOwn(record, c.when) && record[c.when] === c.is) out = { ...out, [c.field]: c.rule };
  }
  return out;
}

/** Why a field failed: absent when required, or present and not as its rule says. */
export interface FieldFailure {
  readonly reason: 'MISSING_FIELD' | 'BAD_FIELD';
  /** The field's path (`re.snip`, `ids[3]`). */
  readonly field: string;
}

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/** Code points of `s` (a lone surrogate counts as one). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkValue(value: unknown, rule: FieldRule, path: string): FieldFailure | undefined {
  const bad: FieldFailure = { reason: 'BAD_FIELD', field: path };
  switch (rule.type) {
    case 'string':
      if (value === null && rule.nullable === true) return undefined;
      if (typeof value !== 'string') return bad;
      if (rule.min !== undefined && value.length < rule.min) return bad;
      if (rule.max !== undefined && value.length > rule.max) return bad;
      if (rule.maxChars !== undefined && codePoints(value) > rule.maxChars) return bad;
      if (rule.maxBytes !== undefined && (value.length > rule.maxBytes || utf8Length(value) > rule.maxBytes))
        return bad;
      if (rule.pattern !== undefined && !rule.pattern.test(value)) return bad;
      return undefined;
    case 'int':
      if (!Number.isSafeInteger(value)) return bad;
      if (rule.min !== undefined && (value as number) < rule.min) return bad;
      if (rule.allowed !== undefined && !rule.allowed.includes(value as number)) return bad;
      return undefined;
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value) ? undefined : bad;
    case 'list':
      if (!Array.isArray(value) || value.length < rule.min || value.length > rule.max) return bad;
      for (let i = 0; i < value.length; i++) {
        const f = checkValue(value[i], rule.of, `${path}[${i}]`);
        if (f !== undefined) return f;
      }
      return undefined;
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad;
      return checkSchema(value as Record<string, unknown>, rule.fields, `${path}.`);
  }
}

/** Checks `record` against `schema`; the first failing field, or undefined when every field fits. */
export function checkSchema(record: Record<string, unknown>, schema: Schema, prefix = ''): FieldFailure | undefined {
  for (const [name, rule] of Object.entries(schema)) {
    const value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (value === undefined) {
      if (rule.optional === true) continue;
      return { reason: 'MISSING_FIELD', field: prefix + name };
    }
    const f = checkValue(value, rule, prefix + name);
    if (f !== undefined) return f;
  }
  return undefined;
}

/**
 * The fields `schema` names, copied from a record that passed `checkSchema`: anything else (a
 * later version's extra field, the device-list stamp) is left out.
 */
export function pick<T>(record: Record<string, unknown>, schema: Schema): T {
  const out: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(schema)) {
    if (!Object.hasOwn(record, name) || record[name] === undefined) continue;
    const value = record[name];
    out[name] =
      rule.type === 'object'
        ? pick(value as Record<string, unknown>, rule.fields)
        : rule.type === 'list'
          ? [...(value as unknown[])]
          : value;
  }
  return out as T;
}
