/**
 * Parley's use of MLS (RFC 9420) through `ts-mls` (docs/protocol.md §14): the one cipher
 * suite, the credential that names an account's device, the group-metadata extension, and
 * KeyPackages made with (and checked against) a device's identity signing key.
 *
 * Deviation from the package's pure-core rule, written down in §14: ts-mls and @hpke/core draw
 * their own randomness from WebCrypto and read the clock to check KeyPackage lifetimes.
 */
import {
  type Capabilities,
  type CiphersuiteImpl,
  type CiphersuiteName,
  type Credential,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type KeyPackage,
  type MLSMessage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { toBase64Url } from '../base64url.ts';
import { concatBytes, constantTimeEqual, utf8 } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import type { DeviceIdentityKeyPair } from '../keys/identity.ts';
import { ACCOUNT_NAME_PATTERN } from '../relay/frames.ts';

/** ts-mls types that cross the package boundary (group configuration and KeyPackages). */
export type { ClientConfig, KeyPackage } from 'ts-mls';

/**
 * The one cipher suite Parley groups use (RFC 9420 §17.1, suite 1): X25519 HPKE, AES-128-GCM,
 * SHA-256 and Ed25519 — the device identity's own signature algorithm. Not post-quantum; see
 * §14 for why the X-Wing suite was measured and not chosen.
 */
export const GROUP_CIPHERSUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

/** Private-use GroupContext extension (RFC 9420 §17.3) carrying the encrypted group metadata. */
export const GROUP_META_EXTENSION = 0xf0a1;

const CREDENTIAL_PREFIX = 'parley/v1:';
const MAX_CREDENTIAL_BYTES = 64;

let suite: Promise<CiphersuiteImpl> | undefined;

/**
 * ts-mls's own implementation of the suite (created once; WebCrypto-backed). KeyPackages are made
 * and checked with it; groups run on the provider-based suite built over it (suite.ts).
 */
export function groupSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(GROUP_CIPHERSUITE));
  return suite;
}

/** A group member's device, as named by its credential. */
export interface GroupDevice {
  readonly account: string;
  readonly device: number;
}

/** The MLS basic credential of a device: `parley/v1:<account>/<device id>`. */
export function credentialFor(account: string, device: number): Credential {
  if (!ACCOUNT_NAME_PATTERN.test(account) || !Number.isSafeInteger(device) || device < 1 || device > 0xffff_ffff) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected an account name and a device id for the credential');
  }
  return { credentialType: 'basic', identity: utf8(`${CREDENTIAL_PREFIX}${account}/${device}`) };
}

/** The device a credential names, or undefined for any credential Parley does not issue. */
export function deviceOfCredential(credential: Credential): GroupDevice | undefined {
  if (credential.credentialType !== 'basic' || credential.identity.length > MAX_CREDENTIAL_BYTES) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(credential.identity);
  } catch {
    return undefined;
  }
  if (!text.startsWith(CREDENTIAL_PREFIX)) return undefined;
  const [account, id, ...rest] = text.slice(CREDENTIAL_PREFIX.length).split('/');
  if (account === undefined || id === undefined || rest.length > 0 || !ACCOUNT_NAME_PATTERN.test(account)) {
    return undefined;
  }
  if (!/^[1-9][0-9]{0,9}$/.test(id)) return undefined;
  const device = Number(id);
  return device <= 0xffff_ffff ? { account, device } : undefined;
}

/** Leaf capabilities: ts-mls defaults plus the metadata extension every member must understand. */
export function groupCapabilities(): Capabilities {
  const base = defaultCapabilities();
  return { ...base, extensions: [...base.extensions, GROUP_META_EXTENSION] };
}

/** A KeyPackage ready to publish, and what its owner keeps to join with it later. */
export interface CreatedKeyPackage {
  /** The encoded MLSMessage (wire format `mls_key_package`). */
  readonly keyPackage: Uint8Array;
  /** Base64url KeyPackageRef (RFC 9420 §5.2): the name a Welcome uses for it. */
  readonly ref: string;
  /** Versioned record of the init and HPKE private keys (the signing key is the device's). */
  readonly privateKeys: Uint8Array;
}

const PRIVATE_RECORD_VERSION = 1;

/**
 * Makes a KeyPackage for a device: its leaf signs with the device identity's Ed25519 key, so
 * members can check the leaf against the account's signed device list.
 */
export async function createKeyPackage(
  identity: DeviceIdentityKeyPair,
  account: string,
  device: number,
): Promise<CreatedKeyPackage> {
  const cs = await groupSuite();
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    credentialFor(account, device),
    groupCapabilities(),
    defaultLifetime,
    [],
    { signKey: identity.signingPrivateKey, publicKey: identity.publicIdentity.signingKey },
    cs,
  );
  return {
    keyPackage: encodeKeyPackageMessage(publicPackage),
    ref: toBase64Url(await makeKeyPackageRef(publicPackage, cs.hash)),
    privateKeys: encodePrivateKeys(privatePackage),
  };
}

/** Encodes a KeyPackage as an MLSMessage. */
export function encodeKeyPackageMessage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage });
}

/** Decodes an MLSMessage that must be exactly one KeyPackage in Parley's cipher suite. */
export function decodeKeyPackageMessage(bytes: Uint8Array): KeyPackage {
  const decoded = safeDecode(bytes);
  if (decoded === undefined || decoded.wireformat !== 'mls_key_package') {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected an MLS KeyPackage');
  }
  if (decoded.keyPackage.cipherSuite !== GROUP_CIPHERSUITE) {
    throw new ProtocolError('UNKNOWN_VERSION', 'the KeyPackage uses another cipher suite');
  }
  return decoded.keyPackage;
}

/**
 * Checks a published KeyPackage before the server stores it or a member adds it: well formed,
 * Parley's suite, signed (RFC 9420 §10.1) by `signingKey`, and its credential naming exactly
 * `account`/`device`.
 */
export async function checkKeyPackage(
  bytes: Uint8Array,
  expected: { readonly account: string; readonly device: number; readonly signingKey: Uint8Array },
): Promise<KeyPackage> {
  const keyPackage = decodeKeyPackageMessage(bytes);
  const leaf = keyPackage.leafNode;
  if (!constantTimeEqual(leaf.signaturePublicKey, expected.signingKey)) {
    throw new ProtocolError('INVALID_KEY', 'the KeyPackage is not signed by the device identity key');
  }
  const named = deviceOfCredential(leaf.credential);
  if (named?.account !== expected.account || named.device !== expected.device) {
    throw new ProtocolError('INVALID_ARGUMENT', 'the KeyPackage credential names another device');
  }
  const cs = await groupSuite();
  if (!(await safeVerify(() => verifyKeyPackage(keyPackage, cs.signature)))) {
    throw new ProtocolError('INVALID_SIGNATURE', 'the KeyPackage signature does not verify');
  }
  return keyPackage;
}

/** The private half of a KeyPackage, with the device signing key put back in. */
export function decodePrivateKeys(record: Uint8Array, signingPrivateKey: Uint8Array): PrivateKeyPackage {
  if (record.length !== 65 || record[0] !== PRIVATE_RECORD_VERSION) {
    throw new ProtocolError('UNKNOWN_VERSION', 'expected a version-1 KeyPackage private record of 65 bytes');
  }
  return {
    initPrivateKey: record.slice(1, 33),
    hpkePrivateKey: record.slice(33, 65),
    signaturePrivateKey: signingPrivateKey,
  };
}

function encodePrivateKeys(keys: PrivateKeyPackage): Uint8Array {
  if (keys.initPrivateKey.length !== 32 || keys.hpkePrivateKey.length !== 32) {
    throw new ProtocolError('INTERNAL', 'unexpected X25519 private key length from ts-mls');
  }
  return concatBytes(Uint8Array.of(PRIVATE_RECORD_VERSION), keys.initPrivateKey, keys.hpkePrivateKey);
}

/** Decodes one MLSMessage, undefined when malformed or followed by trailing bytes. */
export function safeDecode(bytes: Uint8Array): MLSMessage | undefined {
  try {
    const result = decodeMlsMessage(bytes, 0);
    if (result === undefined || result[1] !== bytes.length) return undefined;
    return result[0];
  } catch {
    return undefined;
  }
}

async function safeVerify(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}
