/**
 * Typed prepared statements (Kysely's habit): each table's row type is declared once, and a
 * statement is typed by its parameters and the row (or, plucked, the value) it reads, so a read
 * needs no cast at every use. The types are promises the SQL keeps: write the SELECT to return
 * exactly the declared columns.
 */
import type { HomeDatabase, SqlValue } from './database.ts';

/** A statement binding `P` and reading rows of type `R`. */
export interface Statement<P extends readonly SqlValue[], R> {
  run(...params: P): { changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/** Prepares `sql` as a statement binding `P` and reading rows `R` (objects by column name). */
export function statement<P extends readonly SqlValue[], R = never>(db: HomeDatabase, sql: string): Statement<P, R> {
  return db.prepare(sql) as unknown as Statement<P, R>;
}

/** Prepares `sql` as a statement reading only its first column, of type `V`. */
export function valueStatement<P extends readonly SqlValue[], V>(db: HomeDatabase, sql: string): Statement<P, V> {
  return db.prepare(sql).pluck() as unknown as Statement<P, V>;
}
