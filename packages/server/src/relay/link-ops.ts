/**
 * The link-channel ops (docs/protocol.md §13): the server relays the two halves of linking a new
 * device — the new device's offer and the existing device's sealed answer — and can read
 * neither. Channels live in `link-channels.ts`; these ops check the arguments and who may call.
 */
import {
  DEVICE_IDENTITY_PUBLIC_LENGTH,
  LINK_CHANNEL_LENGTH,
  LINK_OFFER_MAC_LENGTH,
  type RelayOps,
  toBase64Url,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { LinkChannelOpening } from '../store/storage.ts';
import type { Args } from './args.ts';
import { type OpContext, requireAuth } from './context.ts';

/**
 * `link-open`: a new, unauthenticated device publishes its identity, chosen name and offer MAC
 * on a channel and waits there (its handshake deadline extended to the channel's lifetime).
 */
export async function linkOpen(a: Args, ctx: OpContext): Promise<RelayOps['link-open']['result']> {
  if (ctx.conn.auth !== undefined)
    throw new ServerError('ALREADY_AUTHENTICATED', 'only a new device opens a link channel');
  if (ctx.conn.linkChannel !== undefined)
    throw new ServerError('BAD_FRAME', 'this connection already waits on a channel');
  const channel = toBase64Url(a.bytes('channel', LINK_CHANNEL_LENGTH));
  const identity = a.bytes('identity', DEVICE_IDENTITY_PUBLIC_LENGTH);
  const name = a.string('name', ctx.limits.maxDeviceNameLength);
  const mac = a.bytes('mac', LINK_OFFER_MAC_LENGTH);
  const now = ctx.clock();
  const expiresAt = now + ctx.limits.linkTtlMs;
  // Per source first: one address must not fill the server-wide cap (issue 19, item 7).
  const release = ctx.sources.openLink(ctx.conn.source);
  if (release === undefined) {
    throw new ServerError(
      'RATE_LIMITED',
      `too many link channels open from your address (at most ${ctx.limits.maxLinkChannelsPerSource}); finish or cancel one`,
      { retryAfterMs: ctx.limits.linkTtlMs },
    );
  }
  let opening: LinkChannelOpening = 'in-use';
  try {
    opening = await ctx.links.open(
      channel,
      { identity: toBase64Url(identity), name, mac: toBase64Url(mac), expiresAt },
      now,
      (body) => ctx.send({ type: 'link', body }),
    );
  } finally {
    if (opening !== 'opened') release();
  }
  if (opening === 'full') {
    // Server-wide, not this address's doing: a channel frees up when one is used or expires.
    throw new ServerError('RATE_LIMITED', 'too many link channels are open on this server; try again later', {
      retryAfterMs: ctx.limits.linkTtlMs,
    });
  }
  if (opening === 'in-use') throw new ServerError('BAD_FRAME', 'that channel id is in use');
  ctx.conn.releaseLink = release;
  ctx.conn.linkChannel = channel;
  ctx.conn.extendHandshake(ctx.limits.linkTtlMs);
  return { expiresAt };
}

const unknownChannel = () => new ServerError('UNKNOWN_CHANNEL', 'no such link channel (wrong or expired code)');

/** `link-get`: an existing device reads the offer waiting on a channel. */
export async function linkGet(a: Args, ctx: OpContext): Promise<RelayOps['link-get']['result']> {
  requireAuth(ctx);
  const channel = await ctx.links.get(toBase64Url(a.bytes('channel', LINK_CHANNEL_LENGTH)), ctx.clock());
  if (channel === undefined) throw unknownChannel();
  return { identity: channel.identity, name: channel.name, mac: channel.mac };
}

/** `link-send`: an existing device sends the sealed payload to the device waiting on a channel. */
export async function linkSend(a: Args, ctx: OpContext): Promise<RelayOps['link-send']['result']> {
  requireAuth(ctx);
  const id = toBase64Url(a.bytes('channel', LINK_CHANNEL_LENGTH));
  // The canonical text it arrived as is what the waiting device gets: no decode and re-encode.
  const body = a.bytesAndText('body', ctx.limits.maxLinkPayloadBytes).text;
  if (!(await ctx.links.answer(id, body, ctx.clock()))) throw unknownChannel();
  return {};
}
