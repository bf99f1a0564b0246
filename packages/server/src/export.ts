/**
 * `parley admin export ACCOUNT`: everything this server holds about one account, as the
 * operator could hand it over. Built only from the storage interfaces, so it shows exactly what
 * the tables contain — and a test checks that it (and a full dump of the database) holds no
 * plaintext, no private key, no contact list.
 */
import { toBase64Url } from '@parley/protocol';
import type { BlobStore } from './blobs/blob-store.ts';
import type { Storage } from './store/storage.ts';

/** The export document. */
export interface AccountExport {
  readonly account: string;
  readonly createdAt: string;
  readonly accountKey: string;
  readonly deviceListVersion: number;
  readonly devices: {
    id: number;
    identity: string;
    unusedPreKeys: { oneTime: number; kem: number };
    /** One-time MLS KeyPackages not yet fetched, and whether a last-resort one is stored. */
    unusedKeyPackages: { oneTime: number; lastResort: boolean };
  }[];
  /** Groups whose delivery list names one of the account's devices: id, epoch counter, which devices. */
  readonly groups: { groupId: string; epoch: number; devices: number[] }[];
  readonly queuedForAccount: {
    count: number;
    bytes: number;
    messages: { device: number; from: string; fromDevice: number; at: string; bytes: number }[];
  };
  readonly queuedFromAccount: {
    count: number;
    bytes: number;
    messages: { to: string; toDevice: number; fromDevice: number; at: string; bytes: number }[];
  };
  readonly recentSendIds: { device: number; messageId: string; at: string }[];
  /**
   * Attachment blobs the account uploaded (present when the blob store is given): id, padded
   * size, when the slot was handed out, when it expires, whether the upload completed. Nothing
   * else about a blob exists on the server (its key, name and real size are only in messages).
   */
  readonly blobs?: { id: string; paddedBytes: number; createdAt: string; expiresAt: string; complete: boolean }[];
  readonly notKept: string[];
}

/** Builds the export (with the account's blobs when `blobs` is given); undefined for an unknown account. */
export async function exportAccount(
  storage: Storage,
  name: string,
  blobs?: BlobStore,
  now: number = Date.now(),
): Promise<AccountExport | undefined> {
  const account = await storage.getAccount(name);
  if (account === undefined) return undefined;
  const devices = await storage.listDevices(name);
  const records = await storage.queueRecords(name);
  const iso = (ms: number) => new Date(ms).toISOString();
  const sum = (xs: readonly { bytes: number }[]) => xs.reduce((n, x) => n + x.bytes, 0);
  return {
    account: name,
    createdAt: iso(account.createdAt),
    accountKey: toBase64Url(account.accountKey),
    deviceListVersion: account.listVersion,
    devices: await Promise.all(
      devices.map(async (d) => ({
        id: d.id,
        identity: toBase64Url(d.identity),
        unusedPreKeys: await storage.countPreKeys(name, d.id),
        unusedKeyPackages: await storage.countKeyPackages(name, d.id),
      })),
    ),
    groups: await storage.groupsOf(name),
    queuedForAccount: {
      count: records.inbound.length,
      bytes: sum(records.inbound),
      messages: records.inbound.map((m) => ({
        device: m.device,
        from: m.sender,
        fromDevice: m.senderDevice,
        at: iso(m.serverTime),
        bytes: m.bytes,
      })),
    },
    queuedFromAccount: {
      count: records.outbound.length,
      bytes: sum(records.outbound),
      messages: records.outbound.map((m) => ({
        to: m.recipient,
        toDevice: m.device,
        fromDevice: m.senderDevice,
        at: iso(m.serverTime),
        bytes: m.bytes,
      })),
    },
    recentSendIds: records.sendLog.map((s) => ({
      device: s.senderDevice,
      messageId: s.messageId,
      at: iso(s.serverTime),
    })),
    ...(blobs === undefined
      ? {}
      : {
          blobs: (await blobs.list(name, now)).map((b) => ({
            id: b.id,
            paddedBytes: b.size,
            createdAt: iso(b.createdAt),
            expiresAt: iso(b.expiresAt),
            complete: b.complete,
          })),
        }),
    notKept: [
      'message contents (only ciphertext, deleted on acknowledgement or after the queue TTL)',
      'private keys of any kind',
      'contact lists, safety-number verifications',
      'group names, roles or any group content (per group only its id, epoch counter and device-level delivery list)',
      'IP addresses and last-seen or connection times',
      'delivered messages (deleted once the device acknowledges them)',
      'attachment contents, keys, file names, types and real sizes (blobs are padded ciphertext; downloads are not tied to accounts)',
    ],
  };
}
