/**
 * `@parley/client`: the client SDK. `registerAccount` creates an account in a home directory,
 * `openClient` opens one; the returned `ParleyClient` sends, receives (as one async iterable of
 * events) and manages trust in contacts' keys.
 */
export {
  type ClientOptions,
  type ContactSafety,
  type DeviceInfo,
  openClient,
  type ParleyClient,
  registerAccount,
} from './client.ts';
export { decodeContent, encodeContent, MAX_TEXT_BYTES, type TextContent } from './content.ts';
export { ClientError, type ClientErrorCode, isClientError, isRelayRefusal } from './errors.ts';
export type { ClientEvent, StoredMessage } from './events.ts';
export { type GroupInfo, groupPeer } from './groups/groups.ts';
export { HOME_DB_FILE } from './home/database.ts';
export { type PendingLink, startLink } from './linking.ts';
export type { KeyChangePolicy } from './messaging.ts';
