/**
 * The `ct-muscle-node` command. Each subcommand prints one JSON document on stdout (a public
 * contract for scripts); logs go to stderr. Exit codes: 0 done (per-file problems are reported
 * inside the JSON), 2 bad usage or configuration, 1 anything unexpected.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { describeError, isCtMuscleError } from '../errors.ts';
import { errorLogFields, logger, setLogLevel } from '../logging.ts';
import { dicomLimitsFromConfig } from '../dicom/limits.ts';
import { MEASUREMENT_SLICES, TARGET_LEVELS, type LevelName, type MeasurementSlices } from '../model/index.ts';
import { JOB_STATES, type Job, type JobState } from '../queue/job-queue.ts';
import type { AdaptCliOptions } from '../adapt/command.ts';
import type { BatchCommandOptions } from './batch-command.ts';
import { isNodeRole, NODE_ROLES } from '../node/roles.ts';

// Each command imports what it needs when it runs (the pipeline, the node, the queue, batch,
// validate, adapt, …), so that `--help` loads less and `analyze` does not load the queue's
// SQLite addon, the CSV writers or the adaptation step (~90 modules, ~0.1 s of start-up).
const pipeline = () => import('../pipeline/index.ts');
const queueModule = () => import('../queue/open.ts');
const pollerModule = () => import('../node/poller.ts');

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function usageError(message: string): CommanderError {
  return new CommanderError(2, 'ct-muscle-node.usage', message);
}

function isLevelName(level: string): level is LevelName {
  return (TARGET_LEVELS as readonly string[]).includes(level);
}

function parseLevel(level: string | undefined): LevelName | undefined {
  if (level === undefined) return undefined;
  if (!isLevelName(level)) throw usageError(`--level must be one of ${TARGET_LEVELS.join(', ')}, not ${level}.`);
  return level;
}

/** The configuration with `--slices` (mid or body) over measurement.slices; unchanged without it. */
function withSlices(config: Config, slices: string | undefined): Config {
  if (slices === undefined) return config;
  if (!(MEASUREMENT_SLICES as readonly string[]).includes(slices)) throw usageError(`--slices must be one of ${MEASUREMENT_SLICES.join(', ')}, not ${slices}.`);
  return { ...config, measurement: { ...config.measurement, slices: slices as MeasurementSlices } };
}

const SLICES_HELP = 'mid (the level\'s mid slice) or body (also the mean and range over every slice inside the vertebral body); default from the configuration (measurement.slices)';

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw usageError(`expected a whole number ≥ 0, not ${value}.`);
  return n;
}

type BatchCliOptions = Omit<BatchCommandOptions, 'segmenter' | 'target'> & { segmenter?: string; level?: string; slices?: string };

function parseCount(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw usageError(`--concurrency must be a whole number from 1 to 64, not ${text}.`);
  return n;
}

function configFrom(command: Command): Config {
  const options = command.optsWithGlobals<{ config?: string }>();
  const config = loadConfig({ file: options.config });
  setLogLevel(config.logLevel);
  return config;
}

function addInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('List the series in DICOM files or folders, their geometry, and the series the selection rules pick.')
    .argument('<paths...>', 'DICOM files or folders (searched recursively)')
    .action(async (paths: string[], _options: unknown, command: Command) => {
      const config = configFrom(command);
      printJson(await (await pipeline()).inspectPaths(paths, config.selection, { limits: dicomLimitsFromConfig(config.limits) }));
    });
}

function addLevelCommand(program: Command): void {
  program
    .command('level')
    .description('Find the slice through the middle of the target vertebra (T12 by default); one JSON line per series.')
    .argument('<paths...>', 'DICOM files or folders (one series chosen per study by the selection rules), or .nii/.nii.gz volumes')
    .option('--level <level>', 'target vertebral level (T12, L1, L2, L3); default from the configuration')
    .action(async (paths: string[], options: { level?: string }, command: Command) => {
      const config = configFrom(command);
      const target = parseLevel(options.level) ?? config.level.target;
      for (const outcome of await (await pipeline()).levelForPaths(paths, { target, selection: config.selection, levelGrid: config.decode.levelGrid })) {
        const { source, seriesInstanceUid } = outcome;
        const body = outcome.ok ? outcome.result : outcome.error;
        process.stdout.write(`${JSON.stringify({ source, seriesInstanceUid, ...body })}\n`);
      }
    });
}

function addAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('Select the series, find the level, segment and measure skeletal muscle; one JSON line per study.')
    .argument('<paths...>', 'DICOM files or folders (searched recursively)')
    .option('--out <dir>', 'write seg.dcm, sr.dcm and result.json per study under DIR/<StudyInstanceUID>/')
    .option('--segmenter <name>', 'default (model-free) or sam (the ONNX pipeline in segmentation.models); default from the configuration')
    .option('--slice <sopInstanceUid>', 'measure this slice instead of finding the level')
    .option('--level <level>', 'target vertebral level (T12, L1, L2, L3); default from the configuration')
    .option('--overlay', 'also write a Secondary Capture overlay image')
    .option('--slices <which>', SLICES_HELP)
    .action(async (paths: string[], options: { out?: string; segmenter?: string; slice?: string; level?: string; overlay?: boolean; slices?: string }, command: Command) => {
      const config = withSlices(configFrom(command), options.slices);
      if (options.segmenter !== undefined && options.segmenter !== 'default' && options.segmenter !== 'sam') throw usageError(`--segmenter must be default or sam, not ${options.segmenter}.`);
      const { scanInputs, analyzeHeaders } = await pipeline();
      const { headers, errors } = await scanInputs(paths, dicomLimitsFromConfig(config.limits), { decodeWorkers: config.decode.workers });
      for (const error of errors) process.stdout.write(`${JSON.stringify({ path: error.path, status: error.code, message: error.message })}\n`);
      const results = await analyzeHeaders(headers, {
        config,
        outDir: options.out,
        segmenter: options.segmenter as 'default' | 'sam' | undefined,
        sliceSopInstanceUid: options.slice,
        target: parseLevel(options.level),
        overlay: options.overlay ?? config.output.overlay,
        // Several studies given: each one's stack memory goes to the next.
        keepStackMemory: true,
      });
      for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}

function parseSegmenter(name: string | undefined): 'default' | 'sam' | undefined {
  if (name !== undefined && name !== 'default' && name !== 'sam') throw usageError(`--segmenter must be default or sam, not ${name}.`);
  return name;
}

function addBatchCommand(program: Command): void {
  program
    .command('batch')
    .description('Run many studies (folders of CT) through the pipeline, several at a time; resumable. Writes results.csv, errors.csv, index.html under --out.')
    .argument('[paths...]', 'DICOM files or folders (searched recursively; studies grouped by StudyInstanceUID)')
    .requiredOption('--out <dir>', 'output folder (also holds batch.sqlite, which makes a second run skip studies already done)')
    .option('--concurrency <n>', 'studies at a time (worker threads); default 2')
    .option('--dicom', 'also write seg.dcm, sr.dcm and result.json per study under DIR/studies/<StudyInstanceUID>/')
    .option('--retry-failed', 'run studies that failed before again (default: skipped like done ones)')
    .option('--segmenter <name>', 'default or sam; default from the configuration')
    .option('--level <level>', 'target vertebral level (T12, L1, L2, L3); default from the configuration')
    .option('--slices <which>', SLICES_HELP)
    .option('--from-pacs [url]', 'also take studies from a PACS (DICOMweb root; default poll.source): QIDO-RS with the filters below, WADO-RS of the chosen series into DIR/pacs/')
    .option('--study-date <range>', 'with --from-pacs: StudyDate, YYYYMMDD or YYYYMMDD-YYYYMMDD')
    .option('--modality <modality>', 'with --from-pacs: ModalitiesInStudy (default CT)')
    .option('--accession <number>', 'with --from-pacs: AccessionNumber')
    .option('--patient-id <id>', 'with --from-pacs: PatientID')
    .action(async (paths: string[], options: BatchCliOptions, command: Command) => {
      const config = withSlices(configFrom(command), options.slices);
      const summary = await (await import('./batch-command.ts')).batchCommand(paths, { ...options, segmenter: parseSegmenter(options.segmenter), target: parseLevel(options.level) }, config, parseCount, usageError);
      process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary })}\n`);
      if (summary.stopped) process.exitCode = 130;
    });
}

function addValidateCommand(program: Command): void {
  program
    .command('validate')
    .description("Compare the node with a site's readers (Dice, area error, grades, level agreement) beside the paper's figures; writes validation.json, validation.html and plots under --out.")
    .argument('[paths...]', 'with a CSV reference only: the DICOM folders holding its studies')
    .requiredOption('--reference <ref>', 'a folder of cases (CT + the reader\'s DICOM-SEG or mask.nii) or a CSV of reader areas (docs/validation.md)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--segmenter <name>', 'default or sam; default from the configuration')
    .option('--level <level>', 'target vertebral level (T12, L1, L2, L3); default from the configuration')
    .option('--slices <which>', SLICES_HELP)
    .action(async (paths: string[], options: { reference: string; out: string; segmenter?: string; level?: string; slices?: string }, command: Command) => {
      const config = withSlices(configFrom(command), options.slices);
      const report = await (await import('../validate/run-validate.ts')).runValidate({
        reference: options.reference,
        outDir: options.out,
        config,
        paths,
        segmenter: parseSegmenter(options.segmenter),
        target: parseLevel(options.level),
        onCase: (record, index, total) => process.stderr.write(`${JSON.stringify({ event: 'case', index, total, id: record.id, status: record.status })}\n`),
      });
      printJson({ summary: report.summary, paper: report.paper, failed: report.failed, files: report.files });
    });
}

function addRemeasureCommand(program: Command): void {
  program
    .command('remeasure')
    .description('Re-measure from an edited DICOM-SEG and write an amended SR that references it (correction loop).')
    .argument('<seg>', 'the edited DICOM-SEG file')
    .argument('<ct...>', 'the CT files or folders of the referenced series')
    .option('--out <dir>', 'write sr-corrected.dcm under DIR/<StudyInstanceUID>/')
    .action(async (seg: string, ct: string[], options: { out?: string }, command: Command) => {
      configFrom(command);
      printJson(await (await import('../correction.ts')).remeasureFromSeg(seg, ct, { outDir: options.out }));
    });
}

function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the node: STOW-RS receiver, queue and workers, write-back, /healthz, /readyz, /metrics.')
    .option('--role <role>', `what this process does: all (everything, one process), intake (receive, poll, queue; review page, retention) or worker (analyse, write back); see docs/deploy.md`, 'all')
    .action(async (options: { role: string }, command: Command) => {
      const config = configFrom(command);
      if (!isNodeRole(options.role)) throw usageError(`--role must be one of ${NODE_ROLES.join(', ')}, not ${options.role}.`);
      const node = await (await import('../server.ts')).startNode(config, { role: options.role });
      const intake = options.role === 'worker' ? '' : ` (STOW-RS at ${node.url}/dicomweb/studies)`;
      process.stderr.write(`ct-muscle-node (${options.role}) listening on ${node.url}${intake}\n`);
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info('shutting down', { signal });
          node.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
    });
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Job times as ISO 8601 (UTC) instead of epoch milliseconds. */
function withIsoTimes(job: Job): Record<string, unknown> {
  return { ...job, nextRunAt: iso(job.nextRunAt), leaseUntil: iso(job.leaseUntil), createdAt: iso(job.createdAt), updatedAt: iso(job.updatedAt) };
}

function addJobsCommand(program: Command): void {
  program
    .command('jobs')
    .description('List the jobs in the queue (JSON), optionally in one state.')
    .option('--state <state>', `one of ${JOB_STATES.join(', ')}`)
    .action(async (options: { state?: string }, command: Command) => {
      const config = configFrom(command);
      if (options.state !== undefined && !(JOB_STATES as readonly string[]).includes(options.state)) {
        throw usageError(`--state must be one of ${JOB_STATES.join(', ')}.`);
      }
      const { withJobQueue } = await queueModule();
      await withJobQueue(config, async (queue) => {
        printJson({ counts: await queue.counts(), jobs: (await queue.list(options.state as JobState | undefined)).map(withIsoTimes) });
      });
    });
}

function addRequeueCommand(program: Command): void {
  program
    .command('requeue')
    .description("Queue a received study for analysis again (e.g. after a dead letter), optionally on a slice you chose; the running node picks it up.")
    .argument('<studyInstanceUid>', 'a study in the spool')
    .option('--slice <sopInstanceUid>', 'measure this slice as is instead of finding the level')
    .option('--force', 'measure again even if the study is unchanged (e.g. after a model update)')
    .action(async (studyInstanceUid: string, options: { slice?: string; force?: boolean }, command: Command) => {
      const config = configFrom(command);
      const { job, note } = await (await import('../server.ts')).requeueStudy(config, studyInstanceUid, options);
      printJson({ id: job.id, kind: job.kind, key: job.key, state: job.state, payload: job.payload, ...(note ? { note } : {}) });
      if (note) process.stderr.write(`${note}\n`);
    });
}

function addBackfillCommand(program: Command): void {
  program
    .command('backfill')
    .description('Find CT studies of a past StudyDate range (or the named studies) on poll.source, fetch their chosen series and queue them; the running node measures them. The watermark is not moved.')
    .option('--from <YYYYMMDD>', 'first StudyDate of the range')
    .option('--to <YYYYMMDD>', 'last StudyDate of the range (included)')
    .option('--study <uid...>', 'StudyInstanceUIDs to fetch whatever their date')
    .action(async (options: { from?: string; to?: string; study?: string[] }, command: Command) => {
      const config = configFrom(command);
      const byDate = options.from !== undefined || options.to !== undefined;
      if (byDate === (options.study !== undefined)) throw usageError('Give either --from and --to, or --study.');
      if (byDate && (options.from === undefined || options.to === undefined)) throw usageError('--from and --to go together.');
      printJson(await (await pollerModule()).backfill(config, options.study ? { studies: options.study } : { from: options.from!, to: options.to! }));
    });
}

function addWatermarkCommand(program: Command): void {
  program
    .command('watermark')
    .description("Show the poller's watermark and the StudyDate window of the next poll, or move it with --reset.")
    .option('--reset <YYYYMMDD>', 'the next poll searches from this date minus poll.overlapDays')
    .action(async (options: { reset?: string }, command: Command) => {
      const config = configFrom(command);
      const [{ withJobQueue }, { readWatermark, setWatermark, pollWindowStart, dicomDate }] = await Promise.all([queueModule(), pollerModule()]);
      await withJobQueue(config, async (queue) => {
        const previous = (await readWatermark(queue)) ?? null;
        if (options.reset !== undefined) await setWatermark(queue, options.reset);
        const watermark = (await readWatermark(queue)) ?? null;
        const now = new Date();
        const start = pollWindowStart(config.poll, watermark ?? undefined, now);
        const body = { watermark, nextWindow: [dicomDate(start), dicomDate(now)], lookbackDays: config.poll.lookbackDays, overlapDays: config.poll.overlapDays };
        printJson(options.reset !== undefined ? { previous, ...body } : body);
      });
    });
}

function addAdaptCommand(program: Command): void {
  program
    .command('adapt')
    .description("Few-shot site adaptation: fine-tune the model pipeline's SAM mask decoder on labelled slices (docs/models.md); prints a summary JSON, progress as JSON lines on stderr.")
    .requiredOption('--train <ref>', 'training cases: a folder of case folders (the validate reference format, docs/validation.md)')
    .requiredOption('--val <ref>', 'validation cases (same format); the best epoch is chosen by their Dice')
    .requiredOption('--out <dir>', 'where the decoder, its manifest (models.json) and the cached embeddings go')
    .option('--pipeline <id>', 'the pipeline whose decoder is adapted; default segmentation.models.pipeline')
    .option('--id <id>', 'id of the adapted pipeline (default muscle-adapted)')
    .option('--model-version <version>', 'its version (default: UTC date-time); a new version means new SEG/SR series')
    .option('--epochs <n>', 'maximum epochs (default adaptation.epochs)', parsePositiveInt)
    .option('--patience <n>', 'stop after n epochs without a better validation Dice (default adaptation.patience; 0 never)', parsePositiveInt)
    .action(async (options: AdaptCliOptions, command: Command) => {
      const config = configFrom(command);
      printJson(await (await import('../adapt/command.ts')).adaptFromReferences(options, config));
    });
}

function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the job on a generated CT phantom with embedded defaults (no PACS, no model files).')
    .option('--out <dir>', 'where to write the phantom study (default: a new temporary folder)')
    .option('--once', 'stop the node once the study is processed (for scripts and tests)')
    .action(async (options: { out?: string; once?: boolean }, command: Command) => {
      const config = configFrom(command);
      const run = await (await import('../demo.ts')).runDemo({ outDir: options.out, config, once: options.once === true });
      printJson(run.summary);
      if (!run.node) return;
      process.stdout.write(`\nReview page: ${run.pageUrl}  (the node keeps running; Ctrl-C stops it)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await run.node.stop();
    });
}

export function buildProgram(): Command {
  const program = new Command('ct-muscle-node')
    .description('Finds the T12 slice of CT studies, segments skeletal muscle, measures it and writes DICOM-SEG and TID 1500 SR.')
    .option('-c, --config <file>', 'configuration file (JSON) merged over config/default.json')
    .showHelpAfterError()
    .exitOverride();
  addInspectCommand(program);
  addLevelCommand(program);
  addAnalyzeCommand(program);
  addRemeasureCommand(program);
  addBatchCommand(program);
  addValidateCommand(program);
  addServeCommand(program);
  addJobsCommand(program);
  addRequeueCommand(program);
  addBackfillCommand(program);
  addWatermarkCommand(program);
  addAdaptCommand(program);
  addDemoCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    // A command may set a non-zero status of its own (batch: 130 when stopped by Ctrl-C).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'ct-muscle-node.usage') process.stderr.write(`E_USAGE: ${error.message}\n`);
      return error.exitCode === 0 ? 0 : 2;
    }
    const described = describeError(error);
    if (isCtMuscleError(error) && (error.code === 'E_CONFIG_INVALID' || error.code === 'E_USAGE')) {
      process.stderr.write(`${described.code}: ${described.message}\n`);
      return 2;
    }
    logger.error('command failed', errorLogFields(error));
    process.stderr.write(`${described.code}: ${described.message}\n`);
    return 1;
  }
}
