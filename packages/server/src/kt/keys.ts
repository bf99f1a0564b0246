/**
 * The directory's two keys (docs/operating.md, "Key transparency"): the Ed25519 directory key
 * that signs tree heads and the ECVRF key that turns account names into map keys. Both live in
 * one file, `kt-keys.json` in the data directory (mode 0600), created at first start. The
 * database records their public halves: a node started with another key file (every PostgreSQL
 * node must use a copy of the same file, `--kt-key-file`) refuses to start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type CryptoProvider, fromBase64Url, toBase64Url } from '@parley/protocol';
import { vrfKeyPair } from '@parley/protocol/kt';

/** The directory's keys. */
export interface DirectoryKeys {
  /** Ed25519 seed of the directory (tree-head signing) key. */
  readonly directorySeed: Uint8Array;
  readonly directoryKey: Uint8Array;
  /** RFC 8032 secret of the VRF key. */
  readonly vrfSecret: Uint8Array;
  readonly vrfKey: Uint8Array;
}

/** The key file's name in the data directory. */
export const KT_KEY_FILE = 'kt-keys.json';

/** Reads `file`, or creates it (0600) with fresh keys when it does not exist. */
export async function loadDirectoryKeys(provider: CryptoProvider, file: string): Promise<DirectoryKeys> {
  let seed: Uint8Array;
  let vrf: Uint8Array;
  if (existsSync(file)) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      version?: unknown;
      directorySeed?: unknown;
      vrfSecret?: unknown;
    };
    if (doc.version !== 1) throw new Error(`${file}: unknown key file version`);
    seed = fromBase64Url('directorySeed', doc.directorySeed);
    vrf = fromBase64Url('vrfSecret', doc.vrfSecret);
    if (seed.length !== 32 || vrf.length !== 32) throw new Error(`${file}: keys must be 32 bytes`);
  } else {
    seed = new Uint8Array(randomBytes(32));
    vrf = new Uint8Array(randomBytes(32));
    const text = `${JSON.stringify({ version: 1, directorySeed: toBase64Url(seed), vrfSecret: toBase64Url(vrf) })}\n`;
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return {
    directorySeed: seed,
    directoryKey: await provider.ed25519PublicKey(seed),
    vrfSecret: vrf,
    vrfKey: vrfKeyPair(vrf).publicKey,
  };
}

/** The fingerprint `parley serve` prints: SHA-256 of the directory public key, hex in groups of 4. */
export function directoryFingerprint(directoryKey: Uint8Array): string {
  const hex = createHash('sha256').update(directoryKey).digest('hex');
  return hex.match(/.{4}/g)?.join(' ') ?? hex;
}
