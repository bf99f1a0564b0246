/**
 * Full-text search of this device's history: the SQLite FTS5 index `message_search` (home
 * migration 8) over the `messages` table, in the Node and the WebAssembly home alike. The index
 * lives only in the home; nothing about a search goes to the server.
 *
 * What the user types is never handed to FTS5 as query syntax: it is split into words, each
 * word becomes a quoted FTS5 string (its `"` doubled) matched as a prefix, and the words are
 * joined with AND. So `NEAR(`, `OR`, `*`, `:` or an unbalanced quote in a search are words to
 * look for, not operators, and cannot make a query fail; anything SQLite still refuses becomes
 * a typed `INVALID_ARGUMENT`, never a crash.
 */
import { ClientError } from '../errors.ts';
import type { HomeDatabase } from '../home/database.ts';
import { statement } from '../home/statement.ts';
import { groupPeer } from '../peer.ts';

/** Most hits one search returns (and the default). */
export const MAX_SEARCH_LIMIT = 200;
export const DEFAULT_SEARCH_LIMIT = 50;
/** Longest search text accepted, in characters. */
export const MAX_SEARCH_CHARS = 500;
/** Most words one search looks for. */
export const MAX_SEARCH_WORDS = 16;

/** Options of a search. */
export interface SearchOptions {
  /** Most hits (1–200, default 50). */
  readonly limit?: number;
  /** Only in the conversation with this account. */
  readonly peer?: string;
  /** Only in this group (its id). */
  readonly group?: string;
}

/** One message that matched, newest first. */
export interface SearchHit {
  /** The message id (the sender's). */
  readonly id: string;
  /** The conversation id (`parsePeer` tells a group from an account). */
  readonly peer: string;
  readonly sender: string;
  readonly direction: 'in' | 'out';
  /** Sender's clock (ms). */
  readonly sentAt: number;
  /** A short excerpt around the match ("…" where text was cut). */
  readonly snippet: string;
  /** Where the matched words are in `snippet`: [start, end) character offsets. */
  readonly highlights: readonly (readonly [number, number])[];
}

interface HitRow {
  readonly id: string;
  readonly peer: string;
  readonly sender: string;
  readonly direction: 'in' | 'out';
  readonly sent_at: number;
  readonly snippet: string;
}

// Marks FTS5's snippet() puts around matched words; control characters a message's text is
// cleaned of before it is shown anyway (`parseSnippet` drops any stray ones).
const OPEN = '\u0002';
const CLOSE = '\u0003';

/**
 * The FTS5 query for what the user typed: each word a quoted prefix string, all required.
 * Undefined when nothing searchable is left (only spaces).
 */
export function ftsQuery(text: string): string | undefined {
  const words = text
    .normalize('NFC')
    .split(/[\s\p{Cc}]+/u)
    .filter((w) => w.length > 0)
    .slice(0, MAX_SEARCH_WORDS);
  if (words.length === 0) return undefined;
  return words.map((w) => `"${w.replaceAll('"', '""')}"*`).join(' AND ');
}

/** A snippet with the highlight marks taken out and their places kept. */
export function parseSnippet(marked: string): { snippet: string; highlights: [number, number][] } {
  let snippet = '';
  const highlights: [number, number][] = [];
  let start: number | undefined;
  for (const ch of marked) {
    if (ch === OPEN) start = snippet.length;
    else if (ch === CLOSE) {
      if (start !== undefined && snippet.length > start) highlights.push([start, snippet.length]);
      start = undefined;
    } else snippet += ch;
  }
  return { snippet, highlights };
}

/** Searches the history in `db` (see the module comment). */
export function createSearch(db: HomeDatabase): (text: string, options?: SearchOptions) => SearchHit[] {
  const select = (scoped: boolean) =>
    statement<[string, ...string[], number], HitRow>(
      db,
      `SELECT m.id, m.peer, m.sender, m.direction, m.sent_at,
              snippet(message_search, 0, '${OPEN}', '${CLOSE}', '…', 12) AS snippet
       FROM message_search JOIN messages m ON m.row = message_search.rowid
       WHERE message_search MATCH ? ${scoped ? 'AND m.peer = ?' : ''}
       ORDER BY m.row DESC LIMIT ?`,
    );
  let all: ReturnType<typeof select> | undefined;
  let inPeer: ReturnType<typeof select> | undefined;

  return (text, options = {}) => {
    if (typeof text !== 'string') throw new ClientError('INVALID_ARGUMENT', 'the search text must be a string');
    if (text.length > MAX_SEARCH_CHARS) {
      throw new ClientError('INVALID_ARGUMENT', `a search is at most ${MAX_SEARCH_CHARS} characters`);
    }
    const limit = options.limit ?? DEFAULT_SEARCH_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      throw new ClientError('INVALID_ARGUMENT', `the search limit is a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    if (options.peer !== undefined && options.group !== undefined) {
      throw new ClientError('INVALID_ARGUMENT', 'search one account or one group, not both');
    }
    const query = ftsQuery(text);
    if (query === undefined) throw new ClientError('INVALID_ARGUMENT', 'the search has no words to look for');
    const peer = options.group !== undefined ? groupPeer(options.group) : options.peer;
    let rows: HitRow[];
    try {
      if (peer === undefined) {
        all ??= select(false);
        rows = all.all(query, limit);
      } else {
        inPeer ??= select(true);
        rows = inPeer.all(query, peer, limit);
      }
    } catch (err) {
      // FTS5 refuses a query it cannot parse with an SQLite error ("fts5: syntax error …");
      // quoting leaves none we know of, but a refusal is the caller's input, not a crash.
      if (err instanceof Error && /fts5|MATCH/i.test(err.message)) {
        throw new ClientError('INVALID_ARGUMENT', 'the search could not be understood; try other words');
      }
      throw err;
    }
    return rows.map((r) => ({
      id: r.id,
      peer: r.peer,
      sender: r.sender,
      direction: r.direction,
      sentAt: r.sent_at,
      ...parseSnippet(r.snippet),
    }));
  };
}
