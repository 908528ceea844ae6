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
// One phantom's truth, or several (a load of studies): each volume is answered from its own study's truth.
const truths = [JSON.parse(readFileSync(truthPath, 'utf8')) as PhantomTruth | PhantomTruth[]].flat();
const stagesOf = (volume: { slices: Array<{ sopInstanceUid: string }> }) => {
  const truth = truths.find((t) => volume.slices.some((s) => s.sopInstanceUid === t.t12.sopInstanceUid)) ?? truths[0];
  return truthStages(truth);
};
const delay = Number(process.env.STAGE_DELAY_MS ?? 0);
const node = await startNode(loadConfig({ file: configPath, env: {} }), {
  stages: {
    findLevel: (input) => stagesOf(input.volume).findLevel(input),
    async segmentAndMeasure(input) {
      if (delay > 0) {
        process.stdout.write('SEGMENTING\n');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      return stagesOf(input.volume).segmentAndMeasure(input);
    },
  },
});
process.stdout.write(`READY ${node.url}\n`);
process.once('SIGTERM', () => void node.stop().then(() => process.exit(0)));
