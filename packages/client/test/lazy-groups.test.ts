/**
 * The client loads MLS (`@parley/protocol/groups`, and with it ts-mls, about half of the
 * client's import time on Node.js 20) only when a group needs it (issue 18's `parley send`
 * target): a one-to-one send from a fresh process has no ts-mls in its module graph, and a
 * home that holds groups loads it when opened, so that `groups()` answers at once. A static
 * import of that entry point in the client's start graph fails the first test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
// The server suite's child runner, shared rather than copied (the same three steps, one place).
import { runJsonChild } from '../../server/test/helpers/json-child.ts';
import { createWorld, nextMessages, type TestWorld } from './helpers/env.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'client-modules.ts');

interface Printed {
  readonly sent?: boolean;
  readonly groups?: string[];
  readonly tsMls: boolean;
}

/** Runs the child with `job`, recording what it loads into `record`; the JSON lines it printed. */
const runChild = (job: object, record: string) => runJsonChild<Printed>(CHILD, job, record);

describe('the client loads MLS only for a group', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world.close();
  });

  it('a one-to-one send from a fresh process has no ts-mls in its module graph', async () => {
    // Registration publishes KeyPackages, so it loads MLS: it happens here, not in the child.
    const alice = await world.register('alice');
    const bob = await world.register('bob');
    await alice.close();
    const received = nextMessages(bob, 1);
    const [sent, imported] = await runChild(
      { home: world.home('alice'), sendTo: 'bob', thenImport: true },
      join(world.dir, 'loads-send'),
    );
    assert.deepEqual(sent, { sent: true, tsMls: false });
    assert.deepEqual(await received, ['one to one']);
    // The control: the same record shows ts-mls once the group entry point is imported.
    assert.deepEqual(imported, { tsMls: true });
  });

  it('a home that holds groups loads MLS when opened, so groups() answers at once', async () => {
    const carol = await world.register('carol');
    await world.register('dave');
    await carol.createGroup('lazy', ['dave']);
    await carol.close();
    const [listed] = await runChild({ home: world.home('carol'), listGroups: true }, join(world.dir, 'loads-groups'));
    assert.deepEqual(listed, { sent: false, groups: ['lazy'], tsMls: true });
  });
});
