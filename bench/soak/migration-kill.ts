/**
 * A server SIGKILLed during a migration: a SQLite database at schema version 3 with `rows` queued
 * messages (migration 4 rewrites every queue row), a server started on it and killed at random
 * moments before it listens, then started to the end. It must come up consistent: every migration
 * applied once, every queued row there with its size filled in, `quick_check` ok.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateSqlite, SQLITE_FILE, SQLITE_MIGRATIONS } from '@parley/server';
import Database from 'better-sqlite3';
import { freePort, ServerProcess } from './processes.ts';

export interface MigrationKillSummary {
  readonly name: 'migration-kill';
  readonly rows: number;
  /** Kills before the server listened. */
  readonly kills: number;
  /** Of those, how many found the migrations not yet committed (killed inside migrate or before). */
  readonly killedBeforeMigrated: number;
  /** Milliseconds after spawn of each kill. */
  readonly killAtMs: number[];
  /** How long an uninterrupted start on the old database took (ms). */
  readonly fullStartMs: number;
  readonly versions: number[];
  readonly queueRows: number;
  readonly sizesFilled: boolean;
  readonly quickCheck: string;
  readonly consistent: boolean;
  readonly seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The applied versions of a copy of the database (the original is left for the server). */
function versionsOf(dataDir: string, scratch: string): number[] {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch);
  for (const suffix of ['', '-wal', '-shm']) {
    const f = join(dataDir, SQLITE_FILE + suffix);
    if (existsSync(f)) copyFileSync(f, join(scratch, SQLITE_FILE + suffix));
  }
  const db = new Database(join(scratch, SQLITE_FILE));
  const v = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map(
    (r) => r.version,
  );
  db.close();
  return v;
}

export async function runMigrationKill(o: { rows: number; kills: number }): Promise<MigrationKillSummary> {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'parley-soak-migrate-'));
  try {
    // An old database: migrations 1–3, `rows` queued messages of 200 bytes.
    const make = (dataDir: string) => {
      mkdirSync(dataDir, { recursive: true });
      const db = new Database(join(dataDir, SQLITE_FILE));
      db.pragma('journal_mode = WAL');
      migrateSqlite(
        db,
        SQLITE_MIGRATIONS.filter((m) => m.version <= 3),
      );
      const ins = db.prepare(
        'INSERT INTO queue (account, device, sender, sender_device, message_id, kind, body, server_time, expires_at) VALUES (?, 1, ?, 1, ?, 1, ?, ?, ?)',
      );
      const body = Buffer.alloc(200, 7);
      const now = Date.now();
      db.transaction(() => {
        for (let i = 0; i < o.rows; i++)
          ins.run(`user${i % 100}`, `sender${i % 37}`, `m${i}`, body, now, now + 86_400_000);
      })();
      db.close();
    };
    const oldVersions = SQLITE_MIGRATIONS.filter((m) => m.version <= 3).map((m) => m.version);

    // How long a start takes on such a database, uninterrupted (on a copy).
    const timing = join(dir, 'timing');
    make(timing);
    const port = await freePort();
    const s0 = new ServerProcess(port, timing);
    const ts = Date.now();
    await s0.start();
    const fullStartMs = Date.now() - ts;
    await s0.stop();

    const dataDir = join(dir, 'data');
    make(dataDir);
    const killAtMs: number[] = [];
    let killedBeforeMigrated = 0;
    let kills = 0;
    for (let k = 0; k < o.kills; k++) {
      const s = new ServerProcess(port, dataDir);
      const at = Math.round(fullStartMs * (0.3 + 0.6 * Math.random()));
      const started = s.start().then(
        () => true,
        () => false,
      );
      const listened = await Promise.race([started, sleep(at).then(() => undefined)]);
      if (listened === true) {
        // It finished first (a fast machine): nothing was interrupted.
        await s.stop();
        break;
      }
      await s.kill();
      await started;
      kills++;
      killAtMs.push(at);
      const v = versionsOf(dataDir, join(dir, 'scratch'));
      if (v.join() === oldVersions.join()) killedBeforeMigrated++;
    }

    const s = new ServerProcess(port, dataDir);
    await s.start();
    await s.stop();
    const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
    const versions = (
      db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]
    ).map((r) => r.version);
    const queueRows = (db.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n;
    const badSizes = (
      db.prepare('SELECT count(*) AS n FROM queue WHERE body IS NOT NULL AND size <> length(body)').get() as {
        n: number;
      }
    ).n;
    const quickCheck = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join(',');
    db.close();
    const all = SQLITE_MIGRATIONS.map((m) => m.version);
    return {
      name: 'migration-kill',
      rows: o.rows,
      kills,
      killedBeforeMigrated,
      killAtMs,
      fullStartMs,
      versions,
      queueRows,
      sizesFilled: badSizes === 0,
      quickCheck,
      consistent: versions.join() === all.join() && queueRows === o.rows && badSizes === 0 && quickCheck === 'ok',
      seconds: Math.round((Date.now() - t0) / 1000),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
