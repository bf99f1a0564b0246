/**
 * What an inbox (one-to-one or group) does with a decoded attachment message: the line the
 * conversation stores, then an `attachment` event carrying the download.
 */
import type { CryptoProvider } from '@parley/protocol';
import type { DecodedAttachment } from '../content.ts';
import type { EventHub, StoredMessage } from '../events.ts';
import { receivedAttachment } from './received.ts';
import { attachmentLine } from './send-file.ts';
import type { AttachmentSink } from './source.ts';

/** What an inbox does with a decoded attachment message: the line to store, then the event. */
export type AttachmentHook = (decoded: DecodedAttachment) => { text: string; emit(message: StoredMessage): void };

/** The hook both inboxes (direct and group) use: the line, and an `attachment` event after it. */
export function attachmentHook(deps: {
  readonly server: string;
  readonly provider: CryptoProvider;
  readonly events: EventHub;
  readonly fileSink: ((path: string) => Promise<AttachmentSink>) | undefined;
}): AttachmentHook {
  return ({ content, pointer }) => ({
    text: attachmentLine(pointer.fileName, pointer.size, content.caption),
    emit: (message) =>
      deps.events.emit({
        type: 'attachment',
        message,
        attachment: receivedAttachment(pointer, content.caption, deps),
      }),
  });
}
