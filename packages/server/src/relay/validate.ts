/**
 * Checks the envelope of what clients send (each request's arguments are read by its op through
 * `args.ts`). Every check names the field it rejects (never its value) and throws a
 * `ServerError` with `BAD_FRAME` (or the more precise code the relay API defines). An op name is
 * known when the op table (`ops.ts`) has a handler for it: there is no second list of names.
 */
import { type ClientFrame, RELAY_API_VERSION } from '@parley/protocol';
import { ServerError } from '../errors.ts';
import { isRelayOp } from './ops.ts';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(what: string): ServerError {
  return new ServerError('BAD_FRAME', `expected ${what}`);
}

/**
 * A frame's envelope, checked: the frame, or why it is refused and, when the frame was a request
 * whose id could be read, that id (so the refusal answers the request rather than the connection).
 */
export type ParsedFrame =
  | { readonly ok: true; readonly frame: ClientFrame }
  | { readonly ok: false; readonly error: ServerError; readonly requestId: number | undefined };

/**
 * Parses and checks a text frame's envelope (an `ack` carries at most `maxAckSeqs` sequence
 * numbers); `args` is checked later by the op. An op is known when the op table has it.
 */
export function parseClientFrame(text: string, maxAckSeqs: number): ParsedFrame {
  let requestId: number | undefined;
  try {
    return { ok: true, frame: readFrame(text, maxAckSeqs, (id) => (requestId = id)) };
  } catch (err) {
    if (!(err instanceof ServerError)) throw err;
    return { ok: false, error: err, requestId };
  }
}

/** Reads the envelope, throwing a `ServerError`; `onRequestId` hears a request's id once it is known good. */
function readFrame(text: string, maxAckSeqs: number, onRequestId: (id: number) => void): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServerError('BAD_FRAME', 'frame is not JSON');
  }
  if (!isObject(value)) throw bad('a JSON object');
  if (value.v !== RELAY_API_VERSION) {
    throw new ServerError('UNKNOWN_VERSION', `relay API version ${RELAY_API_VERSION} is the only one spoken`);
  }
  if (value.type === 'ack') {
    const seqs = value.seqs;
    if (!Array.isArray(seqs) || seqs.length > maxAckSeqs || !seqs.every((s) => Number.isSafeInteger(s) && s > 0)) {
      throw bad(`ack.seqs as at most ${maxAckSeqs} positive integers`);
    }
    return { v: 1, type: 'ack', seqs: seqs as number[] };
  }
  if (value.type !== 'request') throw bad('type "request" or "ack"');
  const id = value.id;
  if (!Number.isSafeInteger(id) || (id as number) < 0) throw bad('request.id as a non-negative integer');
  onRequestId(id as number);
  if (typeof value.op !== 'string' || !isRelayOp(value.op)) throw new ServerError('UNKNOWN_OP', 'unknown operation');
  if (!isObject(value.args)) throw bad('request.args as an object');
  return { v: 1, type: 'request', id: id as number, op: value.op, args: value.args };
}
