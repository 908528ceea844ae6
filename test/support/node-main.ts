/**
 * A node process for fault tests: `node --import=tsx test/support/node-main.ts CONFIG TRUTH`.
 * It runs the real node (receiver, queue, workers, write-back) with stages answering from a
 * phantom's truth, optionally slowed by STAGE_DELAY_MS so a test can kill it mid-processing.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.ts';
import type { PhantomTruth } from '../../src/phantom/index.ts';
import { startNode } from '../../src/server.ts';
import { truthStages } from './truth-stages.ts';

const [configPath, truthPath] = process.argv.slice(2);
const truth = JSON.parse(readFileSync(truthPath, 'utf8')) as PhantomTruth;
const stages = truthStages(truth);
const delay = Number(process.env.STAGE_DELAY_MS ?? 0);
const node = await startNode(loadConfig({ file: configPath, env: {} }), {
  stages: {
    findLevel: stages.findLevel,
    async segmentAndMeasure(input) {
      if (delay > 0) {
        process.stdout.write('SEGMENTING\n');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      return stages.segmentAndMeasure(input);
    },
  },
});
process.stdout.write(`READY ${node.url}\n`);
process.once('SIGTERM', () => void node.stop().then(() => process.exit(0)));
