import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWebCryptoProvider, decrypt, encrypt, processPreKeyBundle } from '../../src/index.ts';
import { createParty, str, text, wireBundleOf } from '../helpers/parties.ts';

describe('sessions across providers', () => {
  it('a WebCrypto device and a node:crypto device talk both ways', async () => {
    const web = await createParty('web', 1, createWebCryptoProvider());
    const node = await createParty('node');
    await processPreKeyBundle(web.ctx, node.address, await wireBundleOf(node), { now: 0 });
    for (let i = 0; i < 3; i++) {
      const m = await encrypt(web.ctx, node.address, text(`w${i}`));
      assert.equal(str(await decrypt(node.ctx, web.address, m.body)), `w${i}`);
      const r = await encrypt(node.ctx, web.address, text(`n${i}`));
      assert.equal(str(await decrypt(web.ctx, node.address, r.body)), `n${i}`);
    }
  });
});
