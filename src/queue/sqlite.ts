/** The node's SQLite database opened the one way its tables need: WAL, synchronous FULL, a busy wait. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CtMuscleError } from '../errors.ts';

/** Open (creating the folder) and run `schema`; E_IO naming `what` when it cannot. */
export function openSqlite(path: string, schema: string, what: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  try {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(schema);
    return db;
  } catch (error) {
    throw new CtMuscleError('E_IO', `Cannot open ${what} ${path}: ${(error as Error).message}`);
  }
}
