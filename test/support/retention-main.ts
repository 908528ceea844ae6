/**
 * One retention pass in its own process, for the kill -9 test:
 * `node --import=tsx test/support/retention-main.ts QUEUE SPOOL OUTPUT`. Prints START first.
 */
import { applyRetention } from '../../src/node/retention.ts';
import { SqliteJobQueue } from '../../src/queue/sqlite-queue.ts';

const [queuePath, spoolDir, outputDir] = process.argv.slice(2);
const queue = new SqliteJobQueue(queuePath);
process.stdout.write('START\n');
const report = await applyRetention({ queue, spoolDir, outputDir, settings: { spoolDaysAfterWriteBack: 0, resultsDays: 0 } });
await queue.close();
process.stdout.write(`DONE ${JSON.stringify(report)}\n`);
