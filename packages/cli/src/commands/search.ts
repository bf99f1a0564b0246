/**
 * `parley search "words" [--limit N] [--json] [--group G | --name NAME]`: full-text search of
 * this home's history. It never connects: the search index lives only in the home, and the
 * words searched for go nowhere else.
 */
import { groupIdOf, isClientError, openClient, type SearchHit } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { homeDir } from '../home.ts';
import { safeJson, safeLine, safeText } from '../terminal-text.ts';
import { resolveGroup } from './group.ts';

/** Prints the messages of this home matching `text`, newest first. */
export async function search(text: string, flags: Flags): Promise<number> {
  let limit: number | undefined;
  if (flags.limit !== undefined) {
    limit = Number(flags.limit);
    if (!/^\d+$/.test(flags.limit) || limit < 1 || limit > 200) {
      throw new CliError('--limit is a whole number from 1 to 200', EXIT.usage);
    }
  }
  const client = await openClient({ home: homeDir(flags.home) });
  try {
    const group = flags.group === undefined ? undefined : resolveGroup(client, flags.group).id;
    let hits: SearchHit[];
    try {
      hits = client.search(text, {
        ...(limit === undefined ? {} : { limit }),
        ...(group === undefined ? {} : { group }),
        ...(flags.name === undefined ? {} : { peer: flags.name }),
      });
    } catch (err) {
      // No words, too long: what was typed, said as a usage error.
      if (isClientError(err) && err.code === 'INVALID_ARGUMENT') throw new CliError(err.message, EXIT.usage);
      throw err;
    }
    for (const h of hits) {
      const groupId = groupIdOf(h.peer);
      if (flags.json) {
        process.stdout.write(
          `${safeJson({
            id: h.id,
            peer: h.peer,
            ...(groupId === undefined ? {} : { group: groupId }),
            from: h.sender,
            sentAt: h.sentAt,
            snippet: h.snippet,
          })}\n`,
        );
        continue;
      }
      let where = h.peer;
      if (groupId !== undefined) {
        try {
          where = `[${client.group(groupId).name}]`;
        } catch {
          where = `[${groupId}]`;
        }
      }
      const when = new Date(h.sentAt).toISOString().slice(0, 16).replace('T', ' ');
      process.stdout.write(
        `${safeLine(`${when} ${safeText(where)} ${safeText(h.sender)}: `, h.snippet)}  (id ${h.id})\n`,
      );
    }
    if (!flags.json && hits.length === 0) process.stderr.write('no messages found\n');
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
