import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sniffAudio, sniffImage } from '../src/sniff.ts';

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe('sniffing attachments by their first bytes', () => {
  it('recognises PNG, JPEG, GIF and WebP, and nothing else as an image', () => {
    assert.equal(sniffImage(bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0, 0])), 'image/png');
    assert.equal(sniffImage(bytes([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg');
    assert.equal(sniffImage(bytes('GIF89a')), 'image/gif');
    assert.equal(sniffImage(bytes('GIF87a')), 'image/gif');
    assert.equal(sniffImage(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 ')), 'image/webp');
    for (const other of [
      bytes('<svg xmlns="http://www.w3.org/2000/svg">'),
      bytes('<?xml version="1.0"?><svg'),
      bytes('<!DOCTYPE html><script>'),
      bytes('%PDF-1.7'),
      bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt '),
      bytes([0x89], 'PNX'),
      bytes('GIF8'),
      new Uint8Array(0),
    ]) {
      assert.equal(sniffImage(other), undefined);
    }
  });

  it('recognises WebM and Ogg audio only', () => {
    assert.equal(sniffAudio(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f])), 'audio/webm');
    assert.equal(sniffAudio(bytes('OggS', [0])), 'audio/ogg');
    assert.equal(sniffAudio(bytes('ID3')), undefined);
    assert.equal(sniffAudio(bytes([0x89], 'PNG')), undefined);
  });
});
