/**
 * `@parley/protocol`: the pure protocol core. No I/O, no clock, no ambient randomness:
 * hosts inject a `CryptoProvider` and a `RandomSource`. This file is the package's only
 * public entry point. (`createNodeCryptoProvider` and `createNodeRandom` use node:crypto;
 * browser hosts use the WebCrypto provider instead.)
 */
export * from './base64url.ts';
export * from './bytes.ts';
export { createNodeCryptoProvider, type NodeCryptoProviderOptions } from './crypto/node-provider.ts';
export * from './crypto/provider.ts';
export { createNodeRandom } from './crypto/random-sources.ts';
export { createWebCryptoProvider } from './crypto/webcrypto-provider.ts';
export * from './errors.ts';
export * from './groups/group.ts';
export * from './groups/group-record.ts';
export * from './groups/mls.ts';
export * from './groups/policy.ts';
export * from './keys/device-list.ts';
export * from './keys/identity.ts';
export * from './keys/prekeys.ts';
export * from './keys/random-key.ts';
export * from './keys/records.ts';
export * from './linking/link-channel.ts';
export { initiate, type ResponderPreKeys, respond } from './pqxdh/pqxdh.ts';
export type * from './random.ts';
export { initReceiver, initSender, ratchetDecrypt, ratchetEncrypt } from './ratchet/ratchet.ts';
export * from './ratchet/state.ts';
export * from './relay/frames.ts';
export * from './relay/refusals.ts';
export * from './safety-number/safety-number.ts';
export * from './session/cipher.ts';
export * from './session/record.ts';
export * from './session/record-codec.ts';
export * from './stores/memory-stores.ts';
export * from './stores/stores.ts';
export * from './wire/envelope.ts';
export * from './wire/initial-message.ts';
export * from './wire/prekey-bundle.ts';
export * from './wire/proto.ts';
export * from './wire/ratchet-message.ts';
