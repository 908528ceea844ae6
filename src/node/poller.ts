/**
 * Polling a PACS: QIDO-RS for CT studies in a StudyDate window that starts at a persisted
 * watermark (minus an overlap, for studies that arrive late), series metadata → series
 * selection → WADO-RS retrieval of the chosen series only, into the spool, then a study job.
 * Studies already fetched with the same instance count are skipped, so the overlap is cheap.
 */
import dcmjs from 'dcmjs';
import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../config.ts';
import type { DicomJsonDict } from 'dcmjs';
import { searchAll, firstString, getJson, retrieveSeries, type DicomJson } from '../dicomweb/client/dicomweb-client.ts';
import type { StowTarget } from '../dicomweb/client/stow-client.ts';
import { headerFromParsed, parseDicom } from '../dicom/read.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { CtMuscleError, describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { withJobQueue } from '../queue/open.ts';
import { createAssembly } from './assembly.ts';
import type { NodePart } from './part.ts';
import type { PollMetrics } from './metrics.ts';
import type { SelectionRules } from '../intake/select-series.ts';
import { countSpooled, spooledPath, spoolInstance } from '../intake/spool.ts';
import { pathExists } from '../io/durable-file.ts';
import { chooseSeries } from '../pipeline/index.ts';

export interface PollSettings {
  source: StowTarget;
  lookbackDays: number;
  overlapDays: number;
  pageSize: number;
  maxPages: number;
  maxInstanceBytes: number;
}

export interface PollContext {
  settings: PollSettings;
  queue: JobQueue;
  spoolDir: string;
  selection: SelectionRules;
  /** Called for each study whose chosen series is now in the spool. */
  onStudyReady: (studyInstanceUid: string, instanceCount: number) => Promise<void>;
  now?: Date;
}

export interface PollReport {
  window: [string, string];
  studiesFound: number;
  studiesFetched: number;
  studiesSkipped: number;
  instancesRetrieved: number;
  capped: boolean;
  errors: Array<{ studyInstanceUid: string; code: string; message: string }>;
}

const WATERMARK = 'poll:watermark';
const DAY_MS = 86_400_000;

export function dicomDate(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

export function fromDicomDate(text: string): Date {
  return new Date(`${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T00:00:00Z`);
}

/** Studies by date range; a server that caps results makes the range split in halves until it fits. */
async function findStudies(settings: PollSettings, from: Date, to: Date): Promise<{ studies: DicomJson[]; capped: boolean }> {
  const params = { ModalitiesInStudy: 'CT', StudyDate: `${dicomDate(from)}-${dicomDate(to)}`, includefield: '00201208' };
  const { items, capped } = await searchAll(settings.source, 'studies', params, '0020000D', settings);
  if (!capped || to.getTime() - from.getTime() < DAY_MS) return { studies: items, capped };
  const middle = new Date(from.getTime() + Math.floor((to.getTime() - from.getTime()) / DAY_MS / 2) * DAY_MS);
  const [a, b] = await Promise.all([findStudies(settings, from, middle), findStudies(settings, new Date(middle.getTime() + DAY_MS), to)]);
  return { studies: [...a.studies, ...b.studies], capped: a.capped || b.capped };
}

/** Series metadata (WADO-RS) → the same InstanceHeader the file path builds, without pixels. */
function headersFromMetadata(metadata: DicomJson[], label: string): InstanceHeader[] {
  const headers: InstanceHeader[] = [];
  for (const item of metadata) {
    const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(item as DicomJsonDict);
    const hasPixelData = dataset.PixelData !== undefined;
    delete dataset.PixelData;
    if (hasPixelData) dataset._hasPixelData = true;
    try {
      headers.push(headerFromParsed({ transferSyntaxUid: '', meta: {}, dataset, pixelDataTruncated: false }, { kind: 'memory', bytes: new Uint8Array(), label }));
    } catch {
      // An instance without UIDs cannot be selected or retrieved; selection sees the rest.
    }
  }
  return headers;
}

interface Fetched {
  /** The study has a series the selection rules accept. */
  selected: boolean;
  /** Instances retrieved now (0 when the chosen series was already in the spool). */
  retrieved: number;
}

/**
 * The series the selection rules pick among a study's CT series on the PACS, from their
 * metadata (WADO-RS) without retrieving pixels; null when none is suitable. The poller and
 * `batch --from-pacs` use it.
 */
export async function chooseSeriesOnPacs(
  source: StowTarget,
  studyInstanceUid: string,
  rules: SelectionRules,
): Promise<{ seriesInstanceUid: string; instances: InstanceHeader[] } | null> {
  const series = await getJson(source, `studies/${studyInstanceUid}/series?Modality=CT`);
  const headers: InstanceHeader[] = [];
  for (const item of series) {
    const seriesUid = firstString(item, '0020000E');
    if (!seriesUid) continue;
    const metadata = await getJson(source, `studies/${studyInstanceUid}/series/${seriesUid}/metadata`);
    headers.push(...headersFromMetadata(metadata, `${studyInstanceUid}/${seriesUid}`));
  }
  const { selection } = await chooseSeries(headers, rules);
  if (!selection.selected) {
    logger.info('no suitable series on the PACS', { studyInstanceUid, candidates: selection.candidates.length });
    return null;
  }
  const chosen = selection.selected.seriesInstanceUid;
  return { seriesInstanceUid: chosen, instances: headers.filter((h) => h.seriesInstanceUid === chosen) };
}

async function fetchStudy(context: PollContext, studyInstanceUid: string): Promise<Fetched> {
  const { settings } = context;
  const found = await chooseSeriesOnPacs(settings.source, studyInstanceUid, context.selection);
  if (!found) return { selected: false, retrieved: 0 };
  const chosen = found.seriesInstanceUid;
  const wanted = found.instances;
  const present = await Promise.all(wanted.map((h) => pathExists(spooledPath(context.spoolDir, studyInstanceUid, h.sopInstanceUid))));
  // Our own SEG/SR written back change the study's instance count; the chosen series is what matters.
  if (present.every(Boolean)) return { selected: true, retrieved: 0 };
  const retrieved = await retrieveSeries(
    settings.source,
    studyInstanceUid,
    chosen,
    async (bytes) => {
      const header = headerFromParsed(parseDicom(bytes, { headerOnly: true }), { kind: 'memory', bytes, label: 'WADO-RS part' });
      await spoolInstance(context.spoolDir, header.studyInstanceUid, header.sopInstanceUid, bytes);
    },
    { maxInstanceBytes: settings.maxInstanceBytes },
  );
  return { selected: true, retrieved };
}

/**
 * Fetch and queue the given studies. A poll skips studies already seen with the same instance
 * count and queues only what it retrieved; a backfill (`force`) looks at every study again and
 * queues every study with a suitable series (the analysis itself skips an unchanged one).
 */
async function takeStudies(context: PollContext, studies: Array<{ uid: string; count: string }>, report: PollReport, force: boolean): Promise<void> {
  for (const { uid, count } of studies) {
    const seenKey = `poll:seen:${uid}`;
    if (!force && (await context.queue.getState(seenKey)) === count && count !== '?') {
      report.studiesSkipped++;
      continue;
    }
    try {
      const { selected, retrieved } = await fetchStudy(context, uid);
      await context.queue.setState(seenKey, count);
      report.instancesRetrieved += retrieved;
      if (retrieved === 0 && !(force && selected)) {
        report.studiesSkipped++;
        continue;
      }
      report.studiesFetched++;
      await context.onStudyReady(uid, await countSpooled(context.spoolDir, uid));
    } catch (error) {
      // One unreadable study must not stop the others; it is tried again at the next poll.
      report.errors.push({ studyInstanceUid: uid, ...describeError(error) });
    }
  }
}

function emptyReport(window: [string, string], studiesFound: number, capped: boolean): PollReport {
  return { window, studiesFound, studiesFetched: 0, studiesSkipped: 0, instancesRetrieved: 0, capped, errors: [] };
}

/** CT studies with a StudyDate from `from` to `to` (both days included): found, fetched, queued. */
export async function pollWindow(context: PollContext, from: Date, to: Date, options: { force?: boolean } = {}): Promise<PollReport> {
  const { studies, capped } = await findStudies(context.settings, from, to);
  const report = emptyReport([dicomDate(from), dicomDate(to)], studies.length, capped);
  if (capped) logger.warn('poll: the server capped results even for single days; some studies may be missed', { window: report.window });
  const found = studies.flatMap((study) => {
    const uid = firstString(study, '0020000D');
    return uid ? [{ uid, count: firstString(study, '00201208') ?? '?' }] : [];
  });
  await takeStudies(context, found, report, options.force ?? false);
  return report;
}

/** Named studies (a backfill by UID), whatever their date; each is looked at again. */
export async function pollStudies(context: PollContext, studyInstanceUids: string[]): Promise<PollReport> {
  const report = emptyReport(['', ''], studyInstanceUids.length, false);
  await takeStudies(context, studyInstanceUids.map((uid) => ({ uid, count: '?' })), report, true);
  return report;
}

/** The poll window's start: the watermark minus the overlap, or (no watermark yet) today minus lookbackDays. */
export function pollWindowStart(settings: Pick<PollSettings, 'lookbackDays' | 'overlapDays'>, watermark: string | undefined, now: Date): Date {
  return watermark ? new Date(fromDicomDate(watermark).getTime() - settings.overlapDays * DAY_MS) : new Date(now.getTime() - settings.lookbackDays * DAY_MS);
}

export function readWatermark(queue: JobQueue): Promise<string | undefined> {
  return queue.getState(WATERMARK);
}

/** Set the watermark (YYYYMMDD): the next poll's window starts there minus the overlap. */
export async function setWatermark(queue: JobQueue, date: string): Promise<void> {
  await queue.setState(WATERMARK, checkDicomDate(date));
}

/** A real calendar date written YYYYMMDD, else E_USAGE. */
export function checkDicomDate(date: string): string {
  if (!/^\d{8}$/.test(date) || Number.isNaN(fromDicomDate(date).getTime()) || dicomDate(fromDicomDate(date)) !== date) {
    throw new CtMuscleError('E_USAGE', `Not a date (YYYYMMDD): ${date}`);
  }
  return date;
}

export async function pollOnce(context: PollContext): Promise<PollReport> {
  const now = context.now ?? new Date();
  const from = pollWindowStart(context.settings, await readWatermark(context.queue), now);
  const report = await pollWindow(context, from, now);
  // Only a clean pass moves the watermark: a failure keeps the window open for the next poll.
  if (report.errors.length === 0) await context.queue.setState(WATERMARK, dicomDate(now));
  logger.info('poll done', { ...report, errors: report.errors.length });
  return report;
}

/** What readiness needs to know about the polled PACS. */
export interface PollStatus {
  /** Polls in a row that failed (the PACS could not be queried); 0 after a good one. */
  consecutiveFailures: number;
  lastError?: { code: string; message: string };
  lastSuccessAt?: string;
}

export interface PollerPart extends NodePart {
  /** Poll now (also what the cron schedule runs); null when no source is configured or the poll failed. */
  pollNow(): Promise<PollReport | null>;
  status(): PollStatus;
}

function countPoll(metrics: PollMetrics | undefined, report: PollReport | null): void {
  if (!metrics) return;
  metrics.polls.inc({ result: report ? 'ok' : 'failed' });
  if (!report) return;
  metrics.pollStudies.inc({ what: 'found' }, report.studiesFound);
  metrics.pollStudies.inc({ what: 'fetched' }, report.studiesFetched);
  metrics.pollStudies.inc({ what: 'skipped' }, report.studiesSkipped);
  metrics.pollStudies.inc({ what: 'failed' }, report.errors.length);
  metrics.pollInstances.inc(report.instancesRetrieved);
}

export function pollContext(config: Config, queue: JobQueue, onStudyReady: PollContext['onStudyReady']): PollContext | null {
  const source = config.poll.source;
  if (!source) return null;
  return { settings: { ...config.poll, source, maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024 }, queue, spoolDir: config.spoolDir, selection: config.selection, onStudyReady };
}

/** The poller as a node part: a cron schedule of `pollOnce`, one poll at a time. */
export function createPoller(options: { config: Config; queue: JobQueue; onStudyReady: PollContext['onStudyReady']; metrics?: PollMetrics }): PollerPart {
  const { config, queue, onStudyReady, metrics } = options;
  let polling: Promise<PollReport | null> | undefined;
  let schedule: ScheduledTask | undefined;
  const status: PollStatus = { consecutiveFailures: 0 };
  const pollNow = (): Promise<PollReport | null> => {
    const context = pollContext(config, queue, onStudyReady);
    if (!context) return Promise.resolve(null);
    // One poll at a time: a slow PACS must not pile up overlapping polls.
    polling ??= pollOnce(context)
      .then((report) => {
        Object.assign(status, { consecutiveFailures: 0, lastError: undefined, lastSuccessAt: new Date().toISOString() });
        return report;
      })
      .catch((error: unknown) => {
        status.consecutiveFailures++;
        status.lastError = describeError(error);
        logger.error('poll failed', { ...status.lastError, consecutiveFailures: status.consecutiveFailures });
        return null;
      })
      .then((report) => {
        countPoll(metrics, report);
        return report;
      })
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };
  return {
    name: 'poller',
    pollNow,
    status: () => ({ ...status }),
    async start() {
      if (config.poll.source) schedule = cron.schedule(config.poll.cron, () => void pollNow());
    },
    async stop() {
      await schedule?.stop();
      await polling;
    },
  };
}

export type BackfillRequest = { from: string; to: string } | { studies: string[] };

/**
 * A backfill (the `backfill` command): find and fetch CT studies of a past StudyDate range, or the
 * named studies, from `poll.source` into the spool and queue their analyses in the shared queue
 * database, where the running node picks them up. The watermark is not moved.
 */
export async function backfill(config: Config, request: BackfillRequest): Promise<PollReport> {
  return withJobQueue(config, async (queue) => {
    const assembly = createAssembly({ queue, spoolDir: config.spoolDir, quietMs: 0, ownManufacturer: config.selection.ownManufacturer });
    const context = pollContext(config, queue, (uid, count) => assembly.ready(uid, count));
    if (!context) throw new CtMuscleError('E_CONFIG_INVALID', 'backfill needs poll.source (the PACS to search) in the configuration.');
    if ('studies' in request) return await pollStudies(context, request.studies);
    for (const date of [request.from, request.to]) checkDicomDate(date);
    if (request.from > request.to) throw new CtMuscleError('E_USAGE', `--from ${request.from} is after --to ${request.to}.`);
    return await pollWindow(context, fromDicomDate(request.from), fromDicomDate(request.to), { force: true });
  });
}
