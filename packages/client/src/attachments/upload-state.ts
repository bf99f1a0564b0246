/**
 * Uploads in progress, kept in the home (table `pending_uploads`, home migration 10) so that a
 * client killed mid-upload resumes it when the same file is sent again (docs/protocol.md §16.5,
 * "Resuming an upload across restarts"). A row holds what re-creating the same blob needs —
 * the slot (id, token, dates) and the attachment secrets, because sealing is deterministic given
 * them (§16.1) — and the offset the server last acknowledged (a hint: the server's `HEAD` is the
 * authority). It lives in the home database with the same protection as the rest of it (the keys
 * and history beside it). A row is keyed by the source's `resumeKey` (Node: the file's path,
 * size and modification time, so a changed file is never resumed as the old one).
 */
import type { BlobSlot } from '@parley/protocol';
import { blob, type HomeDatabase } from '../home/database.ts';

/** One upload in progress. */
export interface PendingUpload {
  readonly resumeKey: string;
  readonly slot: BlobSlot;
  readonly key: Uint8Array;
  readonly noncePrefix: Uint8Array;
  /** The blob's padded size (what the slot was asked for). */
  readonly blobSize: number;
  /** The offset the server last acknowledged. */
  readonly offset: number;
}

/** The role the sending code uses. */
export interface UploadStateStore {
  get(resumeKey: string): PendingUpload | undefined;
  save(upload: PendingUpload): void;
  /** Records the server's acknowledged offset. */
  acknowledged(resumeKey: string, offset: number): void;
  remove(resumeKey: string): void;
}

interface Row {
  resume_key: string;
  slot: string;
  key: Uint8Array;
  nonce_prefix: Uint8Array;
  blob_size: number;
  acked: number;
}

/** The upload state store over the home database. */
export function createUploadStateStore(db: HomeDatabase): UploadStateStore {
  const select = db.prepare('SELECT * FROM pending_uploads WHERE resume_key = ?');
  const upsert = db.prepare(
    `INSERT INTO pending_uploads (resume_key, slot, key, nonce_prefix, blob_size, acked) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (resume_key) DO UPDATE SET slot = excluded.slot, key = excluded.key,
       nonce_prefix = excluded.nonce_prefix, blob_size = excluded.blob_size, acked = excluded.acked`,
  );
  const ack = db.prepare('UPDATE pending_uploads SET acked = ? WHERE resume_key = ? AND acked < ?');
  const del = db.prepare('DELETE FROM pending_uploads WHERE resume_key = ?');
  return {
    get(resumeKey) {
      const row = select.get(resumeKey) as Row | undefined;
      if (row === undefined) return undefined;
      const s = JSON.parse(row.slot) as { id: string; token: string; uploadBy: number; expiresAt: number };
      return {
        resumeKey,
        slot: { id: s.id, token: s.token, uploadBy: s.uploadBy, expiresAt: s.expiresAt },
        key: blob(row.key).slice(),
        noncePrefix: blob(row.nonce_prefix).slice(),
        blobSize: row.blob_size,
        offset: row.acked,
      };
    },
    save(u) {
      const slot = JSON.stringify({
        id: u.slot.id,
        token: u.slot.token,
        uploadBy: u.slot.uploadBy,
        expiresAt: u.slot.expiresAt,
      });
      upsert.run(u.resumeKey, slot, u.key, u.noncePrefix, u.blobSize, u.offset);
    },
    acknowledged(resumeKey, offset) {
      ack.run(offset, resumeKey, offset);
    },
    remove(resumeKey) {
      del.run(resumeKey);
    },
  };
}
