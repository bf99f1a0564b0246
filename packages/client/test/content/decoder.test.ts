/**
 * The one content decoder (src/content.ts, docs/protocol.md §12.1): property tests (fast-check)
 * that every content type round-trips and that any bytes come back decoded or refused with a
 * typed reason, never thrown; and one test per rule the schema enforces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isOneEmoji } from '../../src/content/emoji.ts';
import {
  type ContentRejection,
  encodeContent,
  MAX_SNIPPET_CHARS,
  MAX_TEXT_BYTES,
  type OutgoingContent,
  readContent,
} from '../../src/content.ts';
import { DISAPPEARING_TIMERS } from '../../src/disappearing/timers.ts';

const REASONS: readonly ContentRejection[] = [
  'TOO_LARGE',
  'BAD_PADDING',
  'NOT_JSON_OBJECT',
  'BAD_VERSION',
  'MISSING_FIELD',
  'BAD_FIELD',
  'AMBIGUOUS_TYPE',
  'UNKNOWN_SHAPE',
  'NOT_ONE_EMOJI',
  'BAD_ATTACHMENT_POINTER',
  'UNKNOWN_EPHEMERAL',
];

const ID = 'AAECAwQFBgcICQoLDA0ODw';
const padded = (json: string): Uint8Array => {
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(Math.ceil((body.length + 1) / 160) * 160);
  out.set(body);
  out[body.length] = 0x80;
  return out;
};
const reasonOf = (bytes: Uint8Array): ContentRejection | 'ok' => {
  const r = readContent(bytes);
  return r.ok ? 'ok' : r.error.reason;
};

const messageId = fc.string({ minLength: 8, maxLength: 64 });
const account = fc.string({ minLength: 1, maxLength: 64 });
const ts = fc.integer({ min: 0, max: 2 ** 48 });
const text = fc.string({ maxLength: 200 });
const to = fc.option(account, { nil: undefined });
const withTo = <T extends object>(c: T, t: string | undefined): T => (t === undefined ? c : { ...c, to: t });
const timer = fc.constantFrom(...DISAPPEARING_TIMERS.map((t) => t.seconds));
const emoji = fc.constantFrom('👍', '❤️', '😂', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '1️⃣', '🎉');

/** Every content type this version sends, with the kind it decodes as. */
const contents: fc.Arbitrary<{ kind: string; content: OutgoingContent }> = fc.oneof(
  fc
    .record({ id: messageId, ts, text, to, exp: fc.option(timer, { nil: undefined }) })
    .map(({ id, ts, text, to, exp }) => ({
      kind: 'text',
      content: withTo({ v: 1 as const, id, ts, text, ...(exp === undefined ? {} : { exp }) }, to),
    })),
  // A disappearing-message timer change: 0 (off) or one of the timers.
  fc.record({ id: messageId, ts, to, exp: fc.oneof(fc.constant(0), timer) }).map(({ id, ts, to, exp }) => ({
    kind: 'text',
    content: withTo({ v: 1 as const, id, ts, text: '', ctl: 'timer' as const, exp }, to),
  })),
  fc
    .record({ id: messageId, ts, text, to, qid: messageId, from: account, snip: fc.string({ maxLength: 100 }) })
    .map(({ id, ts, text, to, qid, from, snip }) => ({
      kind: 'text',
      content: withTo(
        { v: 1 as const, id, ts, text, re: { id: qid, from, snip: [...snip].slice(0, 100).join('') } },
        to,
      ),
    })),
  fc
    .record({
      id: messageId,
      ts,
      receipt: fc.constantFrom('delivered' as const, 'read' as const),
      ids: fc.array(messageId, { minLength: 1, maxLength: 100 }),
    })
    .map(({ id, ts, receipt, ids }) => ({ kind: 'receipt', content: { v: 1 as const, id, ts, receipt, ids } })),
  fc
    .record({ id: messageId, ts, deviceList: fc.string({ minLength: 1, maxLength: 200 }) })
    .map(({ id, ts, deviceList }) => ({ kind: 'device-list', content: { v: 1 as const, id, ts, deviceList } })),
  fc
    .record({ id: messageId, ts, mid: messageId, mfrom: account, emoji: fc.option(emoji, { nil: null }), to })
    .map(({ id, ts, mid, mfrom, emoji, to }) => ({
      kind: 'reaction',
      content: withTo({ v: 1 as const, id, ts, t: 'reaction' as const, mid, mfrom, emoji }, to),
    })),
  fc
    .record({ id: messageId, ts, mid: messageId, text: fc.string({ minLength: 1, maxLength: 200 }), to })
    .map(({ id, ts, mid, text, to }) => ({
      kind: 'edit',
      content: withTo({ v: 1 as const, id, ts, t: 'edit' as const, mid, text }, to),
    })),
  fc.record({ id: messageId, ts, mid: messageId, to }).map(({ id, ts, mid, to }) => ({
    kind: 'delete',
    content: withTo({ v: 1 as const, id, ts, t: 'delete' as const, mid }, to),
  })),
);

describe('content decoder', () => {
  it('round-trips every content type through the padded encoding (property)', () => {
    fc.assert(
      fc.property(contents, ({ kind, content }) => {
        const r = readContent(encodeContent(content));
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.value.kind, kind);
        assert.deepEqual(r.value.content, content);
      }),
      { numRuns: 500 },
    );
  });

  it('pads every type alike: the length reveals only a 160-byte bucket (property)', () => {
    fc.assert(
      fc.property(contents, ({ content }) => {
        const bytes = encodeContent(content);
        assert.equal(bytes.length % 160, 0);
      }),
    );
    // A reaction and a short text fall into the same bucket.
    const reaction = encodeContent({ v: 1, id: ID, ts: 1, t: 'reaction', mid: ID, mfrom: 'alice', emoji: '👍' });
    const message = encodeContent({ v: 1, id: ID, ts: 1, text: 'see you at noon' });
    assert.equal(reaction.length, message.length);
  });

  it('gives random bytes a result or a typed reason, never a throw (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const reason = reasonOf(bytes);
        assert.ok(reason === 'ok' || REASONS.includes(reason), reason);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives random padded JSON a result or a typed reason, never a throw (property)', () => {
    const field = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('reaction', 'edit', 'delete', 'read', '👍', ID, 1),
    );
    const record = fc.dictionary(
      fc.constantFrom(
        'v',
        'id',
        'ts',
        't',
        'text',
        'to',
        'ctl',
        're',
        'receipt',
        'ids',
        'deviceList',
        'att',
        'caption',
        'mid',
        'mfrom',
        'emoji',
        'eph',
        'x',
      ),
      field,
    );
    fc.assert(
      fc.property(record, (r) => {
        const reason = reasonOf(padded(JSON.stringify(r)));
        assert.ok(reason === 'ok' || REASONS.includes(reason), reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutating one byte of a valid record never throws (property)', () => {
    fc.assert(
      fc.property(contents, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ content }, at, byte) => {
        const bytes = encodeContent(content);
        bytes[at % bytes.length] = byte;
        const reason = reasonOf(bytes);
        assert.ok(reason === 'ok' || REASONS.includes(reason), reason);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses each malformed shape with its reason', () => {
    const cases: [string, ContentRejection][] = [
      ['[1,2]', 'NOT_JSON_OBJECT'],
      ['not json', 'NOT_JSON_OBJECT'],
      [`{"id":"${ID}","ts":1,"text":"x"}`, 'BAD_VERSION'],
      [`{"v":0,"id":"${ID}","ts":1,"text":"x"}`, 'BAD_VERSION'],
      [`{"v":1,"id":"short","ts":1,"text":"x"}`, 'BAD_FIELD'],
      [`{"v":1,"ts":1,"text":"x"}`, 'MISSING_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1.5,"text":"x"}`, 'BAD_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1}`, 'UNKNOWN_SHAPE'],
      [`{"v":1,"id":"${ID}","ts":1,"text":"x","receipt":"read","ids":["${ID}"]}`, 'AMBIGUOUS_TYPE'],
      [`{"v":1,"id":"${ID}","ts":1,"receipt":"read","att":"AAAA","ids":["${ID}"]}`, 'AMBIGUOUS_TYPE'],
      [`{"v":1,"id":"${ID}","ts":1,"text":"x","ctl":"join"}`, 'BAD_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1,"t":"reaction","mid":"${ID}","mfrom":"bob","emoji":"ab"}`, 'NOT_ONE_EMOJI'],
      [`{"v":1,"id":"${ID}","ts":1,"t":"reaction","mid":"${ID}","mfrom":"bob","emoji":"👍👍"}`, 'NOT_ONE_EMOJI'],
      [`{"v":1,"id":"${ID}","ts":1,"t":"reaction","mid":"${ID}","mfrom":"bob"}`, 'MISSING_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1,"t":"edit","mid":"${ID}","text":""}`, 'BAD_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1,"t":"delete"}`, 'MISSING_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1,"t":7}`, 'BAD_FIELD'],
      [`{"v":1,"id":"${ID}","ts":1,"t":"typing","eph":true}`, 'UNKNOWN_EPHEMERAL'],
      [`{"v":1,"id":"${ID}","ts":1,"text":"x","att":"!!"}`, 'BAD_ATTACHMENT_POINTER'],
      [
        `{"v":1,"id":"${ID}","ts":1,"text":"x","re":{"id":"${ID}","from":"bob","snip":"${'y'.repeat(MAX_SNIPPET_CHARS + 1)}"}}`,
        'BAD_FIELD',
      ],
      [`{"v":1,"id":"${ID}","ts":1,"text":"${'z'.repeat(MAX_TEXT_BYTES + 1)}"}`, 'BAD_FIELD'],
    ];
    for (const [json, reason] of cases) assert.equal(reasonOf(padded(json)), reason, json.slice(0, 80));
    assert.equal(reasonOf(new Uint8Array(160)), 'BAD_PADDING');
    assert.equal(reasonOf(new Uint8Array(0)), 'BAD_PADDING');
    assert.equal(reasonOf(new Uint8Array(200 * 1024)), 'TOO_LARGE');
    const r = readContent(padded(`{"v":1,"id":"${ID}","ts":1,"t":"edit","mid":"${ID}","text":""}`));
    assert.ok(!r.ok && r.error.field === 'text', 'the reason names the field');
  });

  it('refuses a disappearing-message timer that is not one of the choices, naming the field exp', () => {
    const head = `"v":1,"id":"${ID}","ts":1`;
    const cases: [string, ContentRejection | 'ok'][] = [
      [`{${head},"text":"x","exp":300}`, 'ok'],
      [`{${head},"text":"x","exp":60}`, 'BAD_FIELD'],
      [`{${head},"text":"x","exp":300.5}`, 'BAD_FIELD'],
      [`{${head},"text":"x","exp":"300"}`, 'BAD_FIELD'],
      // Only a timer change may say 0 (off)…
      [`{${head},"text":"x","exp":0}`, 'BAD_FIELD'],
      [`{${head},"text":"","ctl":"timer","exp":0}`, 'ok'],
      [`{${head},"text":"","ctl":"timer","exp":86400}`, 'ok'],
      [`{${head},"text":"","ctl":"timer","exp":7}`, 'BAD_FIELD'],
      // …and a timer change must say its timer.
      [`{${head},"text":"","ctl":"timer"}`, 'MISSING_FIELD'],
      [`{${head},"text":"","ctl":"leave","exp":0}`, 'BAD_FIELD'],
      // An attachment's exp is checked by its schema before its pointer is read.
      [`{${head},"text":"x","att":"!!","exp":0}`, 'BAD_FIELD'],
      [`{${head},"text":"x","att":"!!","exp":604800}`, 'BAD_ATTACHMENT_POINTER'],
    ];
    for (const [json, reason] of cases) {
      const r = readContent(padded(json));
      assert.equal(r.ok ? 'ok' : r.error.reason, reason, json);
      if (!r.ok && reason !== 'BAD_ATTACHMENT_POINTER') assert.equal(r.error.field, 'exp', json);
    }
  });

  it('keeps content of a later version or an unknown type as unsupported, not dropped', () => {
    const later = readContent(padded(`{"v":2,"id":"${ID}","ts":5,"whatever":[1]}`));
    assert.ok(later.ok && later.value.kind === 'unsupported');
    assert.deepEqual(later.value.content, { id: ID, ts: 5, version: 2, type: undefined });
    const poll = readContent(padded(`{"v":1,"id":"${ID}","ts":5,"t":"poll","to":"bob","q":"?"}`));
    assert.ok(poll.ok && poll.value.kind === 'unsupported');
    assert.deepEqual(poll.value.content, { id: ID, ts: 5, version: 1, type: 'poll', to: 'bob' });
    // Its head must still read: without an id it cannot be kept (nor deduplicated).
    assert.equal(reasonOf(padded('{"v":2,"ts":5}')), 'MISSING_FIELD');
  });

  it('drops the device-list stamp and unknown extra fields from what it returns', () => {
    const r = readContent(padded(`{"v":1,"id":"${ID}","ts":5,"text":"hi","dlv":3,"later":"field"}`));
    assert.ok(r.ok);
    assert.deepEqual(r.value.content, { v: 1, id: ID, ts: 5, text: 'hi' });
  });
});

describe('one emoji', () => {
  it('accepts single emoji graphemes, including skin tones, ZWJ sequences, flags and keycaps', () => {
    for (const e of ['👍', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '1️⃣', '❤️', '🏳️‍🌈']) assert.ok(isOneEmoji(e), e);
  });
  it('refuses text, two emoji, an emoji with text, blanks and over-long clusters', () => {
    for (const e of ['', 'a', 'ok', '👍👍', '👍 ', '👍a', '1', '#', 'é', ' ', `👍${'\u200d👍'.repeat(20)}`]) {
      assert.equal(isOneEmoji(e), false, e);
    }
  });
});
