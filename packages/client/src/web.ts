/**
 * `@parley/client/web`: the client SDK for browsers. The same `ParleyClient` as the Node entry;
 * a home is a name in this browser profile's IndexedDB (SQLite in WebAssembly, saved after each
 * committed write), crypto is WebCrypto (ML-KEM from `@noble/post-quantum`), sockets are the
 * browser's. Imports no Node module, so bundlers need no shims.
 */
import {
  type ClientOptions,
  openClientOn,
  type ParleyClient,
  type RegisterOptions,
  registerAccountOn,
} from './client.ts';
import { isEncryptedImage } from './home/encrypted-image-store.ts';
import { createIndexedDbImageStore } from './home/indexeddb-image-store.ts';
import { type PendingLink, type StartLinkOptions, startLinkOn } from './linking.ts';
import type { ClientPlatform } from './platform.ts';
import { createWebPlatform } from './web-platform.ts';

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
export { MAX_TEXT_BYTES } from './content.ts';
export type { ConversationMessage } from './conversation/conversation.ts';
export type { ReactionCount } from './conversation/rejections.ts';
export type { KeyChangePolicy } from './directory/directory.ts';
export { DISAPPEARING_TIMERS, type TimerSeconds } from './disappearing/timers.ts';
export { ClientError, type ClientErrorCode, isClientError, isRelayRefusal, type RelayRefusal } from './errors.ts';
export type { ClientEvent, ConversationChange, ConversationSummary, StoredMessage, WarningCode } from './events.ts';
export type { GroupInfo } from './groups/groups.ts';
export { deleteIndexedDbHome as deleteHome, listIndexedDbHomes as listHomes } from './home/indexeddb-image-store.ts';
export type { PendingLink, StartLinkOptions } from './linking.ts';
export { formatPeer, groupIdOf, groupPeer, type Peer, parsePeer } from './peer.ts';
export type { ClientPlatform } from './platform.ts';
export type { SearchHit, SearchOptions } from './search/search.ts';
export { createWebPlatform, type SqliteWasmSource } from './web-platform.ts';

/** True when the saved home `home` is protected by a passphrase (open it with `createWebPlatform({ passphrase })`). */
export async function isHomeProtected(home: string): Promise<boolean> {
  return isEncryptedImage(await createIndexedDbImageStore(home).load());
}

const defaultPlatform = createWebPlatform();

/** Creates account `name` on `server` in the browser home `options.home`; returns the connected client. */
export function registerAccount(
  options: RegisterOptions,
  platform: ClientPlatform = defaultPlatform,
): Promise<ParleyClient> {
  return registerAccountOn(platform, options);
}

/** Opens the client of a browser home (not yet connected). */
export function openClient(options: ClientOptions, platform: ClientPlatform = defaultPlatform): Promise<ParleyClient> {
  return openClientOn(platform, options);
}

/** Starts linking an empty browser home as a new device of an existing account. */
export function startLink(options: StartLinkOptions, platform: ClientPlatform = defaultPlatform): Promise<PendingLink> {
  return startLinkOn(platform, options);
}
