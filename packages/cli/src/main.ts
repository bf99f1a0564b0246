/**
 * `parley`: the command-line client and server. Each command lives in `commands/`; this file
 * parses the command line, prints help, and turns errors into messages and exit codes.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, describeError, EXIT } from './cli-error.ts';
import { DEFAULT_SERVER_URL, SERVE_HELP } from './commands/serve-help.ts';
import { DEFAULT_TIMEOUT_S, type Deadline, parseTimeout, startDeadline } from './deadline.ts';
import { type Flags, OPTIONS } from './flags.ts';
import { safeLine } from './terminal-text.ts';

// Each command's module is imported only when that command runs, so a command loads what it
// needs and no more: `parley send` does not load the server (its database and bus drivers,
// logger, metrics), `parley --version` no command at all (start-up: `npm run bench -- startup`).
const adminExport: typeof import('./commands/admin.ts').adminExport = async (...a) =>
  (await import('./commands/admin.ts')).adminExport(...a);
const adminInvite: typeof import('./commands/admin.ts').adminInvite = async (...a) =>
  (await import('./commands/admin.ts')).adminInvite(...a);
const adminCheck: typeof import('./commands/admin.ts').adminCheck = async (...a) =>
  (await import('./commands/admin.ts')).adminCheck(...a);
const adminMigrate: typeof import('./commands/admin.ts').adminMigrate = async (...a) =>
  (await import('./commands/admin.ts')).adminMigrate(...a);
const chat: typeof import('./commands/chat.ts').chat = async (...a) => (await import('./commands/chat.ts')).chat(...a);
const link: typeof import('./commands/devices.ts').link = async (...a) =>
  (await import('./commands/devices.ts')).link(...a);
const linkAccept: typeof import('./commands/devices.ts').linkAccept = async (...a) =>
  (await import('./commands/devices.ts')).linkAccept(...a);
const listDevices: typeof import('./commands/devices.ts').listDevices = async (...a) =>
  (await import('./commands/devices.ts')).listDevices(...a);
const removeDevice: typeof import('./commands/devices.ts').removeDevice = async (...a) =>
  (await import('./commands/devices.ts')).removeDevice(...a);
const group: typeof import('./commands/group.ts').group = async (...a) =>
  (await import('./commands/group.ts')).group(...a);
const receive: typeof import('./commands/receive.ts').receive = async (...a) =>
  (await import('./commands/receive.ts')).receive(...a);
const register: typeof import('./commands/register.ts').register = async (...a) =>
  (await import('./commands/register.ts')).register(...a);
const send: typeof import('./commands/send.ts').send = async (...a) => (await import('./commands/send.ts')).send(...a);
const sendFiles: typeof import('./commands/attachments.ts').sendFiles = async (...a) =>
  (await import('./commands/attachments.ts')).sendFiles(...a);
const sendToGroup: typeof import('./commands/send.ts').sendToGroup = async (...a) =>
  (await import('./commands/send.ts')).sendToGroup(...a);
const history: typeof import('./commands/conversation.ts').history = async (...a) =>
  (await import('./commands/conversation.ts')).history(...a);
const change: typeof import('./commands/conversation.ts').change = async (...a) =>
  (await import('./commands/conversation.ts')).change(...a);
const serve: typeof import('./commands/serve.ts').serve = async (...a) =>
  (await import('./commands/serve.ts')).serve(...a);
const audit: typeof import('./commands/audit.ts').audit = async (...a) =>
  (await import('./commands/audit.ts')).audit(...a);
const search: typeof import('./commands/search.ts').search = async (...a) =>
  (await import('./commands/search.ts')).search(...a);
const timer: typeof import('./commands/timer.ts').timer = async (...a) =>
  (await import('./commands/timer.ts')).timer(...a);
const config: typeof import('./commands/config.ts').config = async (...a) =>
  (await import('./commands/config.ts')).config(...a);
const verify: typeof import('./commands/verify.ts').verify = async (...a) =>
  (await import('./commands/verify.ts')).verify(...a);
const listConversations: typeof import('./commands/conversations.ts').listConversations = async (...a) =>
  (await import('./commands/conversations.ts')).listConversations(...a);
const conversationAction: typeof import('./commands/conversations.ts').conversationAction = async (...a) =>
  (await import('./commands/conversations.ts')).conversationAction(...a);
const deleteAccount: typeof import('./commands/account.ts').deleteAccount = async (...a) =>
  (await import('./commands/account.ts')).deleteAccount(...a);
const directoryStatus: typeof import('./commands/verify.ts').directoryStatus = async (...a) =>
  (await import('./commands/verify.ts')).directoryStatus(...a);
const readMessageText: typeof import('./secret-input.ts').readMessageText = async (...a) =>
  (await import('./secret-input.ts')).readMessageText(...a);
const readLinkCode: typeof import('./secret-input.ts').readLinkCode = async (...a) =>
  (await import('./secret-input.ts')).readLinkCode(...a);

const HELP = `parley — end-to-end encrypted messaging

Usage:
${SERVE_HELP}  parley admin invite [--data DIR | --db URL]
      Create a one-time invite code (for --invite-only servers); prints it.
  parley admin export ACCOUNT [--data DIR | --db URL]
      Print, as JSON, everything this server holds about ACCOUNT: what an operator could hand over.
  parley admin migrate [--data DIR | --db URL]
      Apply pending schema migrations (the server also does at start-up; safe on several nodes).
  parley audit --server URL [--state FILE] [--follow] [--witness KEYFILE]
      Audit the server's key directory: check every epoch's signed head and replay its updates (the map
      only grows, versions only grow, heads chain, the log is append-only); exits 1 naming the epoch on
      any inconsistency. --state keeps progress to resume, --follow keeps auditing new epochs,
      --witness cosigns each verified head with that Ed25519 key file (created if missing).
  parley admin check [--data DIR] [--accept-loss]
      Run the start-up checks of the SQLite database (state file, quick_check, schema) and say what
      they found; migrates like admin migrate. It repairs nothing: --accept-loss starts over from a
      database whose -wal file was lost after a crash (what the -wal held is gone). docs/operating.md.
  parley register NAME [--server URL] [--home DIR] [--invite CODE] [--device-name NAME] [--insecure]
      Create account NAME (3-32 of a-z 0-9 _ . -) on the server (default ${DEFAULT_SERVER_URL})
      with this home as its first device, named --device-name (default this machine's host
      name; see "Servers" below for URL and --insecure). If it fails on the way (no answer, --timeout), run it
      again: it finishes with the keys already made, or says the name is someone else's.
  parley send NAME [--home DIR]          (e.g. echo "hello" | parley send NAME)
      Send the message read from standard input to NAME: all of it when piped (one final
      newline dropped); on a terminal, one line typed at the prompt. Prints "sent" once the
      server has stored it. If the server cannot be reached or the connection does not come
      back within --timeout, the message stays queued in this home (exit 3) and goes out the
      next time any parley command connects. \`parley send NAME TEXT\` also works, but puts
      TEXT where other users (the process list) and your shell history can read it.
  parley send --group GROUP [--home DIR]
      Send the message on standard input to a group (GROUP: its id, or its name when unique
      on this device); same outcomes. \`--group GROUP TEXT\` also works, with the same caveat.
  parley send NAME --file PATH [--file PATH…] [--caption TEXT] [--home DIR]
      Encrypt and send each file (up to the server's --max-attachment); prints "sent PATH to NAME"
      for each; standard input is not read. receive and chat save attachments under
      <home>/downloads (or --downloads DIR) with the sender's name made safe ("x (1).jpg" when
      taken) and print the saved path.
  parley group create NAME --members a,b,c [--home DIR]
      Create a group with you as admin and add every device of each member.
  parley group add GROUP NAME... | group remove GROUP NAME...
      Add or remove accounts (all their devices); admins only, enforced by every member.
  parley group admins GROUP a,b | group leave GROUP | group info GROUP | group list
      Replace the admins; leave (another member removes you); show members; list groups.
  parley receive [--wait SECONDS] [--json] [--home DIR]
      Print messages waiting for you ("sender: text", or JSON lines with --json), then keep
      listening for SECONDS (default 0). A connection lost on the way is waited out within
      --timeout; nothing is printed twice. Control characters in what others wrote are shown
      escaped (\\x1b, \\u202e); a line of a message continues indented under its sender.
  parley chat NAME [--home DIR] | parley chat --group GROUP [--home DIR]
      Interactive chat with NAME or a group: type a line and press Enter to send; Ctrl-D to quit.
      Reactions, edits and deletions others make show as they arrive.
  parley history NAME | --group GROUP [--limit N] [--json] [--home DIR]
      Print the last N (default 50) lines of the conversation stored in this home, oldest first,
      each with its message id (for --reply-to, react, edit, delete), the quote of a reply,
      (edited), (deleted) and reaction counts. Reads the home only (run receive first for news).
  parley send NAME|--group GROUP --reply-to ID [TEXT | -]
      Send a reply quoting message ID (its sender and first 100 characters travel with it).
  parley react NAME|--group GROUP ID EMOJI | parley react NAME|--group GROUP ID --remove
      Set your one reaction to message ID (exactly one emoji; a new one replaces it), or remove it.
  parley edit NAME|--group GROUP ID "new text"
      Replace the text of your message ID, within 24 hours of sending it; others see it
      marked edited and keep the earlier text.
  parley delete NAME|--group GROUP ID
      Delete your message ID for everyone, within 24 hours of sending it: every device of
      every participant removes its text and shows it as deleted.
      react, edit, delete and --reply-to print "sent" once the server stored the change,
      "queued" (exit 3) if not within --timeout, and refuse (exit 1, nothing sent) a change
      that is not allowed (someone else's message, too late, deleted, not one emoji); --json
      prints one JSON object instead.
  parley conversations [--archived] [--home DIR]
      List conversations: pinned first, then the most recent, each with its flags (pinned,
      muted, blocked), unread count and last line. Archived ones are listed only with --archived.
  parley archive NAME | unarchive NAME | pin NAME | unpin NAME | mute NAME | unmute NAME
      Archive a conversation (kept out of the list), pin it (listed first), or mute it (no
      notifications in the browser client); --group GROUP instead of NAME for a group. Local
      to this home: nobody is told.
  parley block NAME | unblock NAME
      Block NAME: their messages are dropped when they arrive (not stored, no delivery or read
      receipts go back), and sending to them is refused until you unblock. They are not told.
  parley forget NAME | forget --group GROUP
      Delete a conversation (e.g. one started with a mistyped name) from this home: its
      messages, and ours still waiting to be sent. NAME's keys and verification are kept.
  parley account delete [--yes] [--home DIR]
      Delete your account on its server for good: every device, key, waiting message and
      attachment there. Asks you to type the account name (--yes skips that, for scripts); needs
      the account key (the first device, or one linked with --transfer-account-key). This home's
      keys and history are removed too; contacts sending to you are told the account is gone.
  parley link [--server URL] [--name DEVICE-NAME] [--home DIR] [--insecure]
      Make this (empty) home a new device of an existing account: prints a code and QR code to
      use on a device already signed in, then waits (10 minutes at most).
  parley link accept [--transfer-account-key] [--home DIR]
      On a device holding the account key: asks for the code the new device shows (or reads it
      from standard input), verifies that device, signs the new device list and sends it the
      account (contacts and verified states; the account key itself only with
      --transfer-account-key, so that device can link and remove devices too).
      \`link accept CODE\` also works, but puts the code in the process list and shell history.
  parley devices [--home DIR]
      List this account's devices.
  parley devices remove ID [--home DIR]
      Remove device ID: it is disconnected and gets nothing more.
  parley send NAME --accept-change [TEXT] | parley send NAME --discard-held [TEXT]
      After NAME's safety number changed: send the messages held for the change (taking the new
      key without comparing; refused for a contact you had verified), or drop them unsent.
  parley verify NAME [--accept DIGITS] [--home DIR]
      Show the safety number (and QR code) for you and NAME, and whether it CHANGED since you
      last compared. Compare it with NAME in person or on a call; --accept DIGITS (the 60
      digits you compared, spaces optional, or the QR payload) marks NAME verified, takes a
      changed key and sends held messages. A number that is not the current one is refused.
  parley directory status [--home DIR]
      Show the server's key directory as this device checks it: the directory key pinned, the
      newest head held (epoch, witnesses), the last check of your own entry, and any evidence
      of a server showing different keys to different people.
  parley search "WORDS" [--limit N] [--json] [--name NAME | --group GROUP] [--home DIR]
      Search this home's history for messages holding every word (a word also matches the start
      of a longer one), newest first: date, conversation, sender, an excerpt and the message id.
      Only this home is searched; nothing is sent to the server. --limit 1-200 (default 50).
  parley timer NAME [5m|1h|1d|1w|4w|off] | parley timer --group GROUP [5m|1h|1d|1w|4w|off] [--home DIR]
      Show, or set for everyone in the conversation, its disappearing-message timer: each device
      deletes a message (its text, search entry and unsent copies) that long after it stored it;
      the server drops a copy still queued then. Others see "NAME set disappearing messages to …".
      Screenshots, copies and modified clients are not stopped (docs/threat-model.md).
  parley config key-change-policy [hold-all|block-verified] [--home DIR]
      Show or set what a contact's key change does in this home. hold-all (default): every
      send to them is held until you accept or verify. block-verified (Signal's rule): only the
      send that discovers the change is held for an unverified contact; later ones go through;
      a verified contact stays blocked until verified again.
  parley config read-receipts [on|off] [--home DIR]
      Show or set whether this home tells contacts that their messages were delivered and read
      (default on; receive and chat mark what they print as read). Off: none are sent; theirs
      are still shown to you.

\`parley --version\` prints the version; \`parley --help\` this text.

The home directory (keys, sessions, history) is --home, else $PARLEY_HOME, else ~/.parley.

Servers: an https:// server is reached over TLS (wss://). http:// is accepted only for this machine
(127.0.0.0/8, ::1, localhost): any other http:// or ws:// server is refused (exit 1) unless --insecure
is given, because the connection would not be encrypted (messages still are, end to end; who
connects when, and the link channel, are not). register and link remember --insecure in the home
with the server URL; other commands accept --insecure for a home made without it. A server whose
certificate comes from a private CA: NODE_EXTRA_CA_CERTS=/path/to/ca.pem parley …

Every command that talks to a server ends within --timeout SECONDS (default ${DEFAULT_TIMEOUT_S}): a reset
or timed-out connection is retried until then, a request whose answer is lost is sent again.
(For chat it bounds connecting; for link, connecting and the last connection once the code is used.)

Exit codes: 0 done, 1 failure, 2 usage, 3 queued (the message is in this home's outbox and is
sent the next time parley connects; 3 means nothing else), 4 key changed: the message is
held, not sent (or a compared safety number does not match),
5 unknown account, 6 no account in this home, 7 server unreachable or no answer within --timeout.
`;

/**
 * The entries of HELP for `command` (each a `  parley COMMAND …` line and the lines indented
 * under it), with a pointer to the shared sections; undefined for a command HELP does not list.
 */
function commandHelp(command: string): string | undefined {
  const entries: string[] = [];
  let inEntry = false;
  for (const line of HELP.split('\n')) {
    if (line.startsWith('  parley ')) {
      // An entry may name several commands: `parley pin NAME | unpin NAME`.
      inEntry = line
        .slice('  parley '.length)
        .split(' | ')
        .some((part) => part.replace(/^parley /, '').split(' ')[0] === command);
      if (inEntry) entries.push(line);
    } else if (inEntry && line.startsWith('      ')) entries[entries.length - 1] += `\n${line}`;
    else inEntry = false;
  }
  if (entries.length === 0) return undefined;
  return `Usage:\n${entries.join('\n')}\n\nRun \`parley --help\` for the home directory, servers, --timeout and exit codes.\n`;
}

/** A flag the command line got wrong, said plainly (node's parseArgs messages are for programmers). */
function readableFlagError(err: Error & { code?: string }): string {
  const flag = /'(-[^' ]*)/.exec(err.message)?.[1];
  if (flag === undefined) return err.message;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /does not take an argument/.test(err.message)
      ? `${flag} takes no value`
      : `${flag} needs a value (${flag} VALUE)`;
  }
  return err.message;
}

/** Prints `parley VERSION` (the CLI package's version). */
function printVersion(): number {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`parley ${manifest.version}\n`);
  return 0;
}

/** Commands that talk to a server, and so run within --timeout. */
const NETWORK_COMMANDS: ReadonlySet<string> = new Set([
  'register',
  'send',
  'group',
  'receive',
  'chat',
  'link',
  'devices',
  'verify',
  'react',
  'edit',
  'delete',
  'account',
  'directory',
  'timer',
]);

async function main(argv: string[]): Promise<number> {
  // Answered before any command's module loads.
  if (argv.length === 1 && argv[0] === '--version') return printVersion();
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const command = argv.find((a) => !a.startsWith('-'));
    const where =
      command !== undefined && commandHelp(command) !== undefined ? `parley ${command} --help` : 'parley --help';
    throw new CliError(
      `${readableFlagError(err as Error & { code?: string })}\nRun \`${where}\` for usage.`,
      EXIT.usage,
    );
  }
  const { values: flags, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (flags.version && command === undefined) return printVersion();
  // `parley CMD --help` (or `parley help CMD`): that command's part of the help.
  const helpFor = command === 'help' ? rest[0] : flags.help ? command : undefined;
  const part = helpFor === undefined ? undefined : commandHelp(helpFor);
  if (part !== undefined) {
    process.stdout.write(part);
    return EXIT.ok;
  }
  if (flags.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !flags.help ? EXIT.usage : EXIT.ok;
  }
  const timeout = parseTimeout(flags.timeout);
  // `link` (the new device) runs its own clocks: while connecting, and once its code has been used.
  const timed = NETWORK_COMMANDS.has(command) && !(command === 'link' && rest[0] !== 'accept');
  // The clock starts when the command first asks for it: after a message or code is read from
  // standard input, so typing it is not bounded by --timeout.
  let deadline: Deadline | undefined;
  const clock = (): Deadline => {
    if (!timed) throw new Error(`no deadline for ${command}`);
    deadline ??= startDeadline(timeout);
    return deadline;
  };
  try {
    return await run(command, rest, flags, timeout, clock);
  } finally {
    deadline?.clear();
  }
}

async function run(
  command: string,
  rest: string[],
  flags: Flags,
  timeout: number,
  clock: () => Deadline,
): Promise<number> {
  const need = (n: number, usage: string, atLeast = n): string[] => {
    if (rest.length < atLeast || rest.length > n) throw new CliError(`usage: parley ${usage}`, EXIT.usage);
    return rest;
  };
  switch (command) {
    case 'serve':
      need(0, 'serve [--port N] [--data DIR] [--invite-only]');
      return serve(flags);
    case 'audit':
      need(0, 'audit --server URL [--state FILE] [--follow] [--witness KEYFILE]');
      return audit(flags);
    case 'admin': {
      const usage = 'admin invite | admin export ACCOUNT | admin migrate | admin check [--data DIR | --db URL]';
      if (rest[0] === 'invite' && rest.length === 1) return adminInvite(flags);
      if (rest[0] === 'check' && rest.length === 1) return adminCheck(flags);
      if (rest[0] === 'migrate' && rest.length === 1) return adminMigrate(flags);
      if (rest[0] === 'export' && rest.length === 2) return adminExport(rest[1] as string, flags);
      throw new CliError(`usage: parley ${usage}`, EXIT.usage);
    }
    case 'register':
      return register(
        need(1, 'register NAME [--server URL] [--home DIR] [--device-name NAME]')[0] as string,
        flags,
        clock(),
      );
    case 'send': {
      if (flags.file !== undefined) {
        if (flags.group !== undefined) {
          need(0, 'send --group GROUP --file PATH [--file PATH…] [--caption TEXT]');
          return sendFiles({ group: flags.group }, flags.file, flags, clock());
        }
        const [name] = need(1, 'send NAME --file PATH [--file PATH…] [--caption TEXT]');
        return sendFiles({ name: name as string }, flags.file, flags, clock());
      }
      if (flags['reply-to'] !== undefined) {
        const replyTo = flags['reply-to'];
        if (flags.group !== undefined) {
          const [text] = need(1, 'send --group GROUP --reply-to ID [TEXT | -]', 0);
          const body = await readMessageText(text, flags.group);
          return change({ group: flags.group }, { action: 'reply', id: replyTo, text: body }, flags, clock());
        }
        const [name, text] = need(2, 'send NAME --reply-to ID [TEXT | -]', 1);
        const body = await readMessageText(text, name as string);
        return change({ name: name as string }, { action: 'reply', id: replyTo, text: body }, flags, clock());
      }
      if (flags.group !== undefined) {
        // TEXT omitted or `-`: read from standard input, off the command line.
        const [text] = need(1, 'send --group GROUP [TEXT | -] [--home DIR]', 0);
        return sendToGroup(flags.group, await readMessageText(text, flags.group), flags, clock());
      }
      // With --accept-change or --discard-held, TEXT is optional (they act on what is held) and
      // standard input is not read; otherwise TEXT omitted or `-` is read from standard input.
      const releasing = flags['accept-change'] === true || flags['discard-held'] === true;
      const [name, text] = need(2, 'send NAME [TEXT | -] [--accept-change | --discard-held] [--home DIR]', 1);
      const body = releasing && text === undefined ? undefined : await readMessageText(text, name as string);
      return send(name as string, body, flags, clock());
    }
    case 'group':
      return group(rest, flags, clock());
    case 'history': {
      if (flags.group !== undefined) {
        need(0, 'history --group GROUP [--limit N] [--json]');
        return history({ group: flags.group }, flags);
      }
      return history({ name: need(1, 'history NAME [--limit N] [--json]')[0] as string }, flags);
    }
    case 'react': {
      // With --group: react --group G ID EMOJI; else react NAME ID EMOJI. --remove takes no EMOJI.
      const usage = 'react NAME|--group GROUP ID EMOJI | react NAME|--group GROUP ID --remove';
      const args = flags.group === undefined ? rest : ['', ...rest];
      const [name, id, emoji] = args;
      const ok = flags.remove ? args.length === 2 : args.length === 3;
      if (!ok || id === undefined) throw new CliError(`usage: parley ${usage}`, EXIT.usage);
      const target = flags.group !== undefined ? { group: flags.group } : { name: name as string };
      return change(target, { action: 'react', id, emoji: flags.remove ? null : (emoji as string) }, flags, clock());
    }
    case 'edit': {
      const args = flags.group === undefined ? rest : ['', ...rest];
      if (args.length !== 3) throw new CliError('usage: parley edit NAME|--group GROUP ID "new text"', EXIT.usage);
      const [name, id, text] = args as [string, string, string];
      const target = flags.group !== undefined ? { group: flags.group } : { name };
      return change(target, { action: 'edit', id, text }, flags, clock());
    }
    case 'delete': {
      const args = flags.group === undefined ? rest : ['', ...rest];
      if (args.length !== 2) throw new CliError('usage: parley delete NAME|--group GROUP ID', EXIT.usage);
      const [name, id] = args as [string, string];
      const target = flags.group !== undefined ? { group: flags.group } : { name };
      return change(target, { action: 'delete', id }, flags, clock());
    }
    case 'receive':
      need(0, 'receive [--wait SECONDS] [--json] [--home DIR]');
      return receive(flags, clock());
    case 'chat':
      if (flags.group !== undefined) {
        need(0, 'chat --group GROUP [--home DIR]');
        return chat({ group: flags.group }, flags, clock());
      }
      return chat({ name: need(1, 'chat NAME [--home DIR]')[0] as string }, flags, clock());
    case 'link': {
      if (rest[0] === 'accept') {
        // CODE omitted: asked for (or read from standard input), off the command line.
        const [, code] = need(2, 'link accept [CODE] [--transfer-account-key]', 1);
        return linkAccept(await readLinkCode(code), flags, clock());
      }
      need(0, 'link [--server URL] [--name DEVICE-NAME]');
      return link(flags, timeout);
    }
    case 'devices': {
      if (rest[0] === 'remove') {
        const [, id] = need(2, 'devices remove ID');
        return removeDevice(id as string, flags, clock());
      }
      need(0, 'devices [--home DIR]');
      return listDevices(flags, clock());
    }
    case 'verify':
      return verify(need(1, 'verify NAME [--accept DIGITS] [--home DIR]')[0] as string, flags, clock());
    case 'conversations':
      need(0, 'conversations [--archived] [--home DIR]');
      return listConversations(flags);
    case 'archive':
    case 'unarchive':
    case 'mute':
    case 'unmute':
    case 'pin':
    case 'unpin':
    case 'block':
    case 'unblock':
    case 'forget':
      return conversationAction(command, need(1, `${command} NAME | ${command} --group GROUP`, 0)[0], flags);
    case 'account':
      if (rest[0] !== 'delete' || rest.length !== 1)
        throw new CliError('usage: parley account delete [--yes] [--home DIR]', EXIT.usage);
      return deleteAccount(flags, clock);
    case 'directory':
      if (rest[0] !== 'status' || rest.length !== 1)
        throw new CliError('usage: parley directory status [--home DIR]', EXIT.usage);
      return directoryStatus(flags, clock());
    case 'timer':
      if (flags.group !== undefined) {
        return timer({ group: flags.group }, need(1, 'timer --group GROUP [5m|1h|1d|1w|4w|off]', 0)[0], flags, clock);
      }
      {
        const [name, value] = need(2, 'timer NAME [5m|1h|1d|1w|4w|off]', 1);
        return timer({ name: name as string }, value, flags, clock);
      }
    case 'search':
      return search(need(1, 'search "WORDS" [--limit N] [--json] [--name NAME | --group GROUP]')[0] as string, flags);
    case 'config': {
      const usage = 'config key-change-policy [hold-all|block-verified] | config read-receipts [on|off] [--home DIR]';
      const setting = rest[0];
      if ((setting !== 'key-change-policy' && setting !== 'read-receipts') || rest.length > 2)
        throw new CliError(`usage: parley ${usage}`, EXIT.usage);
      return config(setting, rest[1], flags);
    }
    default:
      throw new CliError(`unknown command "${command}"; run \`parley --help\``, EXIT.usage);
  }
}

let settled = false;
// A command whose work is all waiting on unref'd timers would let Node end with exit 0 and no
// word: that is a bug, and is reported as one rather than passed off as success.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write('parley: internal error: the command stopped before finishing\n');
  process.exitCode = EXIT.failure;
});
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err: unknown) => {
    settled = true;
    const { message, exitCode } = describeError(err);
    // Error texts may quote the server or other people: controls escaped, lines indented.
    process.stderr.write(`${safeLine('parley: ', message)}\n`);
    process.exitCode = exitCode;
  },
);
