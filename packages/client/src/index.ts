/**
 * `@parley/client`: the client SDK (this entry is Node's; browsers import `@parley/client/web`). `registerAccount` creates an account in a home directory,
 * `openClient` opens one; the returned `ParleyClient` sends, receives (as one async iterable of
 * events) and manages trust in contacts' keys.
 */
import {
  type ClientOptions,
  openClientOn,
  type ParleyClient,
  type RegisterOptions,
  registerAccountOn,
} from './client.ts';
import { type PendingLink, type StartLinkOptions, startLinkOn } from './linking.ts';
import { nodePlatform } from './node-platform.ts';

export type { ReceivedAttachment } from './attachments/received.ts';
export type { SendFileOptions } from './attachments/send-file.ts';
export {
  type AttachmentSink,
  type AttachmentSource,
  BLOB_SLICE_SIZE,
  blobSink,
  blobSource,
  memorySink,
  readBlobSlices,
} from './attachments/source.ts';
export type { Progress } from './attachments/transfer.ts';
export type { ClientOptions, ContactSafety, DeviceInfo, ParleyClient, RegisterOptions } from './client.ts';
/** Runtime adapters: run the SDK on another platform (another storage, socket or crypto). */
export { openClientOn, registerAccountOn } from './client.ts';
export {
  type AttachmentContent,
  type ContentError,
  type ContentRejection,
  type ContentResult,
  type DecodedContent,
  type DeleteContent,
  decodeContent,
  type EditContent,
  encodeContent,
  MAX_TEXT_BYTES,
  type OutgoingContent,
  type ReactionContent,
  type ReplyQuote,
  readContent,
  type TextContent,
  UNSUPPORTED_TEXT,
  type UnsupportedContent,
} from './content.ts';
export type { ConversationMessage } from './conversation/conversation.ts';
export type { ConversationRejection, ReactionCount } from './conversation/rejections.ts';
export { EDIT_WINDOW_MS } from './conversation/rules.ts';
export { queueFullCap } from './delivery/classify-send-error.ts';
export { MAX_RESENDS, RESTART_INTERVAL_MS } from './direct/inbox.ts';
export type { KeyChangePolicy } from './directory/directory.ts';
export { DISAPPEARING_TIMERS, type TimerSeconds } from './disappearing/timers.ts';
export { ClientError, type ClientErrorCode, isClientError, isRelayRefusal, type RelayRefusal } from './errors.ts';
export type { ClientEvent, ConversationChange, ConversationSummary, StoredMessage, WarningCode } from './events.ts';
export { type GroupInfo, KEY_UPDATE_INTERVAL_MS } from './groups/groups.ts';
export { HOME_DB_FILE, type HomeDatabase } from './home/database.ts';
export { PREKEY_ROTATION } from './home/prekey-stock.ts';
export { createMemoryImageStore, type ImageStore, openWasmHomeDatabase } from './home/wasm-home-database.ts';
export type { PendingLink, StartLinkOptions } from './linking.ts';
export { startLinkOn } from './linking.ts';
export { nodePlatform } from './node-platform.ts';
export { formatPeer, groupIdOf, groupPeer, type Peer, parsePeer } from './peer.ts';
export type { ClientPlatform, WebSocketLike } from './platform.ts';
export type { SearchHit, SearchOptions } from './search/search.ts';
export type { KtEvidence, SelfCheck } from './transparency/kt-store.ts';
export type { DirectoryStatus } from './transparency/transparency.ts';

/**
 * Creates account `name` on `server` with this home directory's first device, uploads prekeys
 * and returns the connected client (Node: better-sqlite3, `ws`, node:crypto).
 */
export function registerAccount(options: RegisterOptions): Promise<ParleyClient> {
  return registerAccountOn(nodePlatform, options);
}

/** Opens the client of an existing home directory (not yet connected). */
export function openClient(options: ClientOptions): Promise<ParleyClient> {
  return openClientOn(nodePlatform, options);
}

/** Starts linking an empty home directory as a new device of an existing account (see `PendingLink`). */
export function startLink(options: StartLinkOptions): Promise<PendingLink> {
  return startLinkOn(nodePlatform, options);
}
