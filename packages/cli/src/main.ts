/**
 * `parley`: the command-line client and server. Each command lives in `commands/`; this file
 * parses the command line, prints help, and turns errors into messages and exit codes.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SERVE_HELP } from './commands/serve-help.ts';
import { OPTIONS } from './flags.ts';

// Each command's module is imported only when that command runs, so a command loads what it
// needs and no more: `parley send` does not load the server (its database and bus drivers,
// logger, metrics), `parley --version` no command at all (start-up: `npm run bench -- startup`).
const adminExport: typeof import('./commands/admin.ts').adminExport = async (...a) =>
  (await import('./commands/admin.ts')).adminExport(...a);
const adminInvite: typeof import('./commands/admin.ts').adminInvite = async (...a) =>
  (await import('./commands/admin.ts')).adminInvite(...a);
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
const sendToGroup: typeof import('./commands/send.ts').sendToGroup = async (...a) =>
  (await import('./commands/send.ts')).sendToGroup(...a);
const serve: typeof import('./commands/serve.ts').serve = async (...a) =>
  (await import('./commands/serve.ts')).serve(...a);
const verify: typeof import('./commands/verify.ts').verify = async (...a) =>
  (await import('./commands/verify.ts')).verify(...a);

const HELP = `parley — end-to-end encrypted messaging

Usage:
${SERVE_HELP}  parley admin invite [--data DIR | --db URL]
      Create a one-time invite code (for --invite-only servers); prints it.
  parley admin export ACCOUNT [--data DIR | --db URL]
      Print, as JSON, everything this server holds about ACCOUNT: what an operator could hand over.
  parley admin migrate [--data DIR | --db URL]
      Apply pending schema migrations (the server also does at start-up; safe on several nodes).
  parley register NAME [--server URL] [--home DIR] [--invite CODE]
      Create account NAME (3-32 of a-z 0-9 _ . -) on the server (default http://127.0.0.1:8787)
      with this home as its first device.
  parley send NAME TEXT [--home DIR]
      Send TEXT to NAME; returns once the server has stored it.
  parley send --group GROUP TEXT [--home DIR]
      Send TEXT to a group (GROUP: its id, or its name when unique on this device).
  parley group create NAME --members a,b,c [--home DIR]
      Create a group with you as admin and add every device of each member.
  parley group add GROUP NAME... | group remove GROUP NAME...
      Add or remove accounts (all their devices); admins only, enforced by every member.
  parley group admins GROUP a,b | group leave GROUP | group info GROUP | group list
      Replace the admins; leave (another member removes you); show members; list groups.
  parley receive [--wait SECONDS] [--json] [--home DIR]
      Print messages waiting for you ("sender: text", or JSON lines with --json), then keep
      listening for SECONDS (default 0).
  parley chat NAME [--home DIR] | parley chat --group GROUP [--home DIR]
      Interactive chat with NAME or a group: type a line and press Enter to send; Ctrl-D to quit.
  parley link [--server URL] [--name DEVICE-NAME] [--home DIR]
      Make this (empty) home a new device of an existing account: prints a code and QR code to
      use on a device already signed in, then waits (10 minutes at most).
  parley link accept CODE [--transfer-account-key] [--home DIR]
      On a device holding the account key: verify the new device showing CODE, sign the new
      device list and send it the account (contacts and verified states; the account key
      itself only with --transfer-account-key, so that device can link and remove devices too).
  parley devices [--home DIR]
      List this account's devices.
  parley devices remove ID [--home DIR]
      Remove device ID: it is disconnected and gets nothing more.
  parley verify NAME [--accept] [--home DIR]
      Show the safety number (and QR code) for you and NAME. Compare it with NAME in person or
      on a call; --accept marks NAME verified and accepts a changed key.

\`parley --version\` prints the version; \`parley --help\` this text.

The home directory (keys, sessions, history) is --home, else $PARLEY_HOME, else ~/.parley.

Exit codes: 0 ok, 1 failure, 2 usage, 3 server unreachable, 4 key changed / untrusted,
5 unknown account, 6 no account in this home.
`;

/** Prints `parley VERSION` (the CLI package's version). */
function printVersion(): number {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`parley ${manifest.version}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  // Answered before anything else loads, not even cli-error.ts.
  if (argv.length === 1 && argv[0] === '--version') return printVersion();
  const { CliError, EXIT } = await import('./cli-error.ts');
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun \`parley --help\` for usage.`, EXIT.usage);
  }
  const { values: flags, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (flags.version && command === undefined) return printVersion();
  if (flags.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !flags.help ? EXIT.usage : EXIT.ok;
  }
  const need = (n: number, usage: string): string[] => {
    if (rest.length !== n) throw new CliError(`usage: parley ${usage}`, EXIT.usage);
    return rest;
  };
  switch (command) {
    case 'serve':
      need(0, 'serve [--port N] [--data DIR] [--invite-only]');
      return serve(flags);
    case 'admin': {
      const usage = 'admin invite | admin export ACCOUNT | admin migrate [--data DIR | --db URL]';
      if (rest[0] === 'invite' && rest.length === 1) return adminInvite(flags);
      if (rest[0] === 'migrate' && rest.length === 1) return adminMigrate(flags);
      if (rest[0] === 'export' && rest.length === 2) return adminExport(rest[1] as string, flags);
      throw new CliError(`usage: parley ${usage}`, EXIT.usage);
    }
    case 'register':
      return register(need(1, 'register NAME [--server URL] [--home DIR]')[0] as string, flags);
    case 'send': {
      if (flags.group !== undefined) {
        const [text] = need(1, 'send --group GROUP TEXT [--home DIR]');
        return sendToGroup(flags.group, text as string, flags);
      }
      const [name, text] = need(2, 'send NAME TEXT [--home DIR]');
      return send(name as string, text as string, flags);
    }
    case 'group':
      return group(rest, flags);
    case 'receive':
      need(0, 'receive [--wait SECONDS] [--json] [--home DIR]');
      return receive(flags);
    case 'chat':
      if (flags.group !== undefined) {
        need(0, 'chat --group GROUP [--home DIR]');
        return chat({ group: flags.group }, flags);
      }
      return chat({ name: need(1, 'chat NAME [--home DIR]')[0] as string }, flags);
    case 'link': {
      if (rest[0] === 'accept') {
        const [, code] = need(2, 'link accept CODE [--transfer-account-key]');
        return linkAccept(code as string, flags);
      }
      need(0, 'link [--server URL] [--name DEVICE-NAME]');
      return link(flags);
    }
    case 'devices': {
      if (rest[0] === 'remove') {
        const [, id] = need(2, 'devices remove ID');
        return removeDevice(id as string, flags);
      }
      need(0, 'devices [--home DIR]');
      return listDevices(flags);
    }
    case 'verify':
      return verify(need(1, 'verify NAME [--accept] [--home DIR]')[0] as string, flags);
    default:
      throw new CliError(`unknown command "${command}"; run \`parley --help\``, EXIT.usage);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    const { describeError } = await import('./cli-error.ts');
    const { message, exitCode } = describeError(err);
    process.stderr.write(`parley: ${message}\n`);
    process.exitCode = exitCode;
  },
);
