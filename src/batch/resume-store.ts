/**
 * What a batch has done, kept in OUT/batch.sqlite (better-sqlite3, like the job queue) so a
 * second run skips studies already measured with the same inputs and the same segmenter, and a
 * run stopped by Ctrl-C or a crash loses only the studies that were in progress.
 */
import Database from 'better-sqlite3';
import type { BatchRow } from './types.ts';

export interface StoredStudy {
  row: BatchRow;
  inputHash: string;
  runKey: string;
}

export class ResumeStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS batch_studies (
      study_instance_uid TEXT PRIMARY KEY,
      input_hash TEXT NOT NULL,
      run_key TEXT NOT NULL,
      status TEXT NOT NULL,
      row_json TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
  }

  get(studyInstanceUid: string): StoredStudy | undefined {
    const found = this.db.prepare('SELECT row_json, input_hash, run_key FROM batch_studies WHERE study_instance_uid = ?').get(studyInstanceUid) as
      | { row_json: string; input_hash: string; run_key: string }
      | undefined;
    return found && { row: JSON.parse(found.row_json) as BatchRow, inputHash: found.input_hash, runKey: found.run_key };
  }

  put(row: BatchRow, inputHash: string, runKey: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO batch_studies (study_instance_uid, input_hash, run_key, status, row_json, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(row.studyInstanceUid, inputHash, runKey, row.status, JSON.stringify(row), Date.now());
  }

  /** Every stored row, in the order studies were first stored. */
  rows(): BatchRow[] {
    return (this.db.prepare('SELECT row_json FROM batch_studies ORDER BY rowid').all() as Array<{ row_json: string }>).map((r) => JSON.parse(r.row_json) as BatchRow);
  }

  close(): void {
    this.db.close();
  }
}

/** Whether a stored study can be skipped: same inputs, same segmenter and level, and done (or failed and not retried). */
export function canSkip(stored: StoredStudy | undefined, inputHash: string, runKey: string, retryFailed: boolean): boolean {
  if (!stored || stored.inputHash !== inputHash || stored.runKey !== runKey) return false;
  return stored.row.status === 'ok' || !retryFailed;
}
