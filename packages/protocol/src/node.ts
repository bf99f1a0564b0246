/**
 * `@parley/protocol/node`: what only Node.js hosts need, the crypto provider on node:crypto
 * (OpenSSL; its ML-KEM where the runtime has it) and the randomness source on its CSPRNG. Kept
 * out of `@parley/protocol` so that entry imports no Node module and bundles for browsers as is.
 * The committed report `api/node.api.md` lists these exports with their types.
 */
export { createNodeCryptoProvider, type NodeCryptoProviderOptions } from './crypto/node-provider.ts';
export { createNodeRandom } from './crypto/random-sources.ts';
