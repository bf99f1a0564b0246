import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJsonChild } from './helpers/json-child.ts';
import {
  dropSchema,
  NATS_URL,
  POSTGRES_URL,
  postgresSkipReason,
  REDIS_URL,
  tcpSkipReason,
} from './helpers/services.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'loaded-drivers.ts');
/** Starts a server in a child process with `options`; the JSON lines it printed (which drivers were loaded). */
const loadedIn = (options: object) => runJsonChild<{ loaded: string[] }>(CHILD, options);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'parley-adapters-'));
  dirs.push(d);
  return d;
}

describe('adapters load their drivers only when their URL is given', () => {
  it('a default (SQLite, single-node) server has no PostgreSQL, NATS or Redis driver in its module graph', async () => {
    const [started, imported] = await loadedIn({ dataDir: dataDir(), thenImport: true });
    assert.deepEqual(started?.loaded, []);
    // The control: the same check sees all three once they are imported.
    assert.deepEqual(imported?.loaded, ['pg', 'nats', 'redis']);
  });

  describe('with the services', () => {
    let reason: string | undefined;
    const schemas: string[] = [];
    before(async () => {
      reason =
        (await postgresSkipReason()) ??
        (await tcpSkipReason('NATS', NATS_URL)) ??
        (await tcpSkipReason('Redis', REDIS_URL));
    });
    after(async () => {
      for (const s of schemas) await dropSchema(s);
    });

    it('PostgreSQL and a NATS bus load pg and nats, not redis; a Redis bus loads redis, not nats', async (t) => {
      if (reason !== undefined) return t.skip(reason);
      const schema = `adapters_${process.pid}`;
      schemas.push(schema);
      // One data directory for both: nodes on one database share its key-directory key file.
      const data = dataDir();
      const [nats] = await loadedIn({ dataDir: data, db: POSTGRES_URL, dbSchema: schema, bus: NATS_URL });
      assert.deepEqual(nats?.loaded, ['pg', 'nats']);
      const [redis] = await loadedIn({ dataDir: data, db: POSTGRES_URL, dbSchema: schema, bus: REDIS_URL });
      assert.deepEqual(redis?.loaded, ['pg', 'redis']);
    });
  });
});
