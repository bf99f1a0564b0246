/**
 * Child process for lazy-groups.test.ts, run with scripts/record-loads.mjs: `node --import tsx
 * --conditions=source --import scripts/record-loads.mjs client-modules.ts JOB_JSON` opens the
 * home `job.home`, and then:
 * - with `job.sendTo`: connects, sends one message and waits until the server took it;
 * - with `job.listGroups`: lists the home's groups at once (no connection), as `groups()` answers;
 * closes the client and prints one JSON line: what it did, and whether ts-mls is among the
 * modules the process loaded. With `job.thenImport` it then imports `@parley/protocol/groups` and
 * prints a second line (the check's own control: the record does show ts-mls once it is loaded).
 */
import { readFileSync } from 'node:fs';
import { openClient } from '@parley/client';

/** Whether a module of the ts-mls package is in the record of loaded modules. */
function tsMlsLoaded(): boolean {
  const file = process.env.PARLEY_RECORD_LOADS;
  if (file === undefined) throw new Error('run with scripts/record-loads.mjs and PARLEY_RECORD_LOADS');
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((url) => url.includes('/node_modules/ts-mls/'));
}

const job = JSON.parse(process.argv[2] ?? '{}') as {
  home: string;
  sendTo?: string;
  listGroups?: boolean;
  thenImport?: boolean;
};
const client = await openClient({ home: job.home, maxBackoffMs: 200 });
let sent = false;
let groups: string[] | undefined;
if (job.listGroups === true) groups = client.groups().map((g) => g.name);
if (job.sendTo !== undefined) {
  await client.connect();
  await client.sendAndWait(job.sendTo, 'one to one');
  sent = true;
}
await client.close();
process.stdout.write(`${JSON.stringify({ sent, groups, tsMls: tsMlsLoaded() })}\n`);
if (job.thenImport === true) {
  await import('@parley/protocol/groups');
  process.stdout.write(`${JSON.stringify({ tsMls: tsMlsLoaded() })}\n`);
}
