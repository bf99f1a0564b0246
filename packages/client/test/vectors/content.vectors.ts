/**
 * Known answers for the content records the ratchet and MLS encrypt (docs/protocol.md §12,
 * `src/content.ts`): UTF-8 JSON padded with 0x80 and zeros to a multiple of 160 bytes. The JSON
 * keys are in the order the client builds them (messaging.ts, groups.ts), which the frozen
 * bytes depend on.
 */
import { encodeContent, type ReceiptContent, type TextContent } from '../../src/content.ts';

export const about =
  'Padded content records: text, a copy to our own devices, a group leave, a receipt, and the padding edges (docs/protocol.md §12).';

export interface ContentInputs {
  readonly text: TextContent;
  readonly textToOwnDevices: TextContent;
  readonly groupLeave: TextContent;
  readonly receipt: ReceiptContent;
  /** Text whose JSON is 159 bytes: 0x80 fills one block exactly. */
  readonly oneFullBlock: TextContent;
  /** Text whose JSON is 160 bytes: 0x80 opens a second block. */
  readonly spillsIntoSecondBlock: TextContent;
}

const ID = 'AAECAwQFBgcICQoLDA0ODw';
const TS = 1767225600000;

/** A text content whose JSON encoding is exactly `length` bytes. */
function textOfLength(length: number): TextContent {
  const empty = JSON.stringify({ v: 1, id: ID, ts: TS, text: '' }).length;
  return { v: 1, id: ID, ts: TS, text: 'x'.repeat(length - empty) };
}

export function makeInputs(): ContentInputs {
  return {
    text: { v: 1, id: ID, ts: TS, text: 'Hello, Bob ☕ "quoted" \\ \n new line' },
    textToOwnDevices: { v: 1, id: ID, ts: TS, text: 'sent from my phone', to: 'bob' },
    groupLeave: { v: 1, id: ID, ts: TS, text: '', ctl: 'leave' },
    receipt: { v: 1, id: ID, ts: TS, receipt: 'read', ids: ['EBESExQVFhcYGRobHB0eHw', 'ICEiIyQlJicoKSorLC0uLw'] },
    oneFullBlock: textOfLength(159),
    spillsIntoSecondBlock: textOfLength(160),
  };
}

/** Encodes every input content record. */
export function build(inputs: ContentInputs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, content] of Object.entries(inputs)) out[name] = Buffer.from(encodeContent(content)).toString('hex');
  return out;
}
