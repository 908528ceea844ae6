/** A batch worker thread: runs the studies it is sent, one at a time, and answers with their rows. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { setLogLevel } from '../logging.ts';
import { runStudyTask } from './study-task.ts';
import type { StudyTask } from './types.ts';

const { config } = workerData as { config: Config };
setLogLevel(config.logLevel);

parentPort!.on('message', (task: StudyTask) => {
  void runStudyTask(task, config).then((row) => parentPort!.postMessage(row));
});
