import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeContent, decodeReceipt } from '../../src/content.ts';
import { build, type ContentInputs } from './content.vectors.ts';

const v = JSON.parse(readFileSync(new URL('./content.json', import.meta.url), 'utf8')) as {
  inputs: ContentInputs;
  expected: Record<string, string>;
};
const bytesOf = (name: string): Uint8Array => {
  const hex = v.expected[name];
  if (hex === undefined) throw new Error(`content.json lacks ${name}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
};
const texts = ['text', 'textToOwnDevices', 'groupLeave', 'oneFullBlock', 'spillsIntoSecondBlock'] as const;

describe('content record vectors', () => {
  it('rebuilds every frozen content record from its fields', () => {
    const rebuilt = build(v.inputs);
    assert.deepEqual(Object.keys(rebuilt).sort(), Object.keys(v.expected).sort());
    for (const [name, hex] of Object.entries(v.expected)) assert.equal(rebuilt[name], hex, `${name} differs`);
  });

  it('pads each frozen record: JSON, 0x80, zeros to a multiple of 160 bytes', () => {
    for (const name of [...texts, 'receipt'] as const) {
      const bytes = bytesOf(name);
      const json = new TextEncoder().encode(JSON.stringify(v.inputs[name]));
      assert.equal(bytes.length, Math.ceil((json.length + 1) / 160) * 160, name);
      assert.deepEqual(bytes.subarray(0, json.length), json, name);
      assert.equal(bytes[json.length], 0x80, name);
      assert.ok(
        bytes.subarray(json.length + 1).every((b) => b === 0),
        name,
      );
    }
    assert.equal(bytesOf('oneFullBlock').length, 160);
    assert.equal(bytesOf('spillsIntoSecondBlock').length, 320);
  });

  it('decodes the frozen text records to their fields, and not as receipts', () => {
    for (const name of texts) {
      assert.deepEqual(decodeContent(bytesOf(name)), v.inputs[name], name);
      assert.equal(decodeReceipt(bytesOf(name)), undefined, name);
    }
  });

  it('decodes the frozen receipt, which a text decoder refuses', () => {
    assert.deepEqual(decodeReceipt(bytesOf('receipt')), v.inputs.receipt);
    assert.equal(decodeContent(bytesOf('receipt')), undefined);
  });
});
