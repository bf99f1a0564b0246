/**
 * `parley group …`: create a group, add and remove members, leave, show and list groups. A
 * group is named on the command line by its id or by its name when that is unique here.
 */
import type { GroupInfo, ParleyClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connectedClient } from '../home.ts';
import { safeText } from '../terminal-text.ts';

/** Finds a group by id, else by a unique name. */
export function resolveGroup(client: ParleyClient, ref: string): GroupInfo {
  const all = client.groups();
  const byId = all.find((g) => g.id === ref);
  if (byId !== undefined) return byId;
  const byName = all.filter((g) => g.name === ref && g.status === 'active');
  if (byName.length === 1 && byName[0] !== undefined) return byName[0];
  if (byName.length > 1) throw new CliError(`several groups are named "${safeText(ref)}"; use the id`, EXIT.usage);
  throw new CliError(`no group "${safeText(ref)}" on this device (\`parley group list\` shows them)`, EXIT.failure);
}

const names = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Prints a group: name, id, epoch, admins, members with their device counts; names escaped. */
export function formatGroup(g: GroupInfo): string {
  const members = g.members.map(
    (m) => `${safeText(m.name)}${g.admins.includes(m.name) ? ' (admin)' : ''} — ${m.devices.length} device(s)`,
  );
  return [
    `${safeText(g.name)}  [${g.id}]${g.status === 'active' ? '' : `  (${g.status})`}`,
    `epoch ${g.epoch}; admins: ${g.admins.map(safeText).join(', ')}`,
    ...members.map((m) => `  ${m}`),
  ].join('\n');
}

/** Runs one `group` subcommand. */
export async function group(args: readonly string[], flags: Flags, deadline: Deadline): Promise<number> {
  const [sub, ref, ...rest] = args;
  const usage = (u: string): never => {
    throw new CliError(`usage: parley group ${u}`, EXIT.usage);
  };
  if (sub === 'create') {
    if (ref === undefined || rest.length > 0) usage('create NAME --members a,b,c');
  } else if (sub === 'add' || sub === 'remove') {
    if (ref === undefined || rest.length === 0) usage(`${sub} GROUP NAME...`);
  } else if (sub === 'leave' || sub === 'info') {
    if (ref === undefined || rest.length > 0) usage(`${sub} GROUP`);
  } else if (sub === 'admins') {
    if (ref === undefined || rest.length !== 1) usage('admins GROUP a,b');
  } else if (sub !== 'list' || ref !== undefined) {
    usage('create|add|remove|leave|info|admins|list …');
  }
  const client = await connectedClient(flags, deadline);
  try {
    const out = (s: string) => process.stdout.write(`${s}\n`);
    if (sub === 'list') {
      await client.drained(deadline.signal);
      for (const g of client.groups()) out(formatGroup(g));
      return EXIT.ok;
    }
    const target = ref as string;
    if (sub === 'create') {
      const { id } = await client.createGroup(target, names(flags.members));
      out(`created “${safeText(target)}” [${id}]`);
      out(formatGroup(client.group(id)));
      return EXIT.ok;
    }
    await client.drained(deadline.signal);
    const g = resolveGroup(client, target);
    if (sub === 'info') out(formatGroup(g));
    else if (sub === 'add') await client.addToGroup(g.id, rest);
    else if (sub === 'remove') await client.removeFromGroup(g.id, rest);
    else if (sub === 'admins') await client.updateGroup(g.id, { admins: names(rest[0]) });
    else if (sub === 'leave') {
      await client.leaveGroup(g.id);
      out(`left “${safeText(g.name)}”`);
      return EXIT.ok;
    }
    if (sub !== 'info') out(formatGroup(client.group(g.id)));
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
