/**
 * Polling a PACS: QIDO-RS for CT studies in a StudyDate window that starts at a persisted
 * watermark (minus an overlap, for studies that arrive late), series metadata → series
 * selection → WADO-RS retrieval of the chosen series only, into the spool, then a study job.
 * Studies already fetched with the same instance count are skipped, so the overlap is cheap.
 */
import { access } from 'node:fs/promises';
import dcmjs from 'dcmjs';
import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../config.ts';
import type { DicomJsonDict } from 'dcmjs';
import { searchAll, firstString, getJson, retrieveSeries, type DicomJson } from '../dicomweb/client/dicomweb-client.ts';
import type { StowTarget } from '../dicomweb/client/stow-client.ts';
import { headerFromParsed, parseDicom } from '../dicom/read.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { NodePart } from './part.ts';
import type { SelectionRules } from '../intake/select-series.ts';
import { countSpooled, spooledPath, spoolInstance } from '../intake/spool.ts';
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
  onStudyReady: (studyInstanceUid: string, instanceCount: number) => void;
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

function fromDicomDate(text: string): Date {
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

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function fetchStudy(context: PollContext, studyInstanceUid: string): Promise<number> {
  const { settings } = context;
  const series = await getJson(settings.source, `studies/${studyInstanceUid}/series?Modality=CT`);
  const headers: InstanceHeader[] = [];
  for (const item of series) {
    const seriesUid = firstString(item, '0020000E');
    if (!seriesUid) continue;
    const metadata = await getJson(settings.source, `studies/${studyInstanceUid}/series/${seriesUid}/metadata`);
    headers.push(...headersFromMetadata(metadata, `${studyInstanceUid}/${seriesUid}`));
  }
  const { selection } = await chooseSeries(headers, context.selection);
  if (!selection.selected) {
    logger.info('poll: no suitable series', { studyInstanceUid, candidates: selection.candidates.length });
    return 0;
  }
  const chosen = selection.selected.seriesInstanceUid;
  const wanted = headers.filter((h) => h.seriesInstanceUid === chosen);
  const present = await Promise.all(wanted.map((h) => exists(spooledPath(context.spoolDir, studyInstanceUid, h.sopInstanceUid))));
  // Our own SEG/SR written back change the study's instance count; the chosen series is what matters.
  if (present.every(Boolean)) return 0;
  return retrieveSeries(
    settings.source,
    studyInstanceUid,
    chosen,
    async (bytes) => {
      const header = headerFromParsed(parseDicom(bytes, { headerOnly: true }), { kind: 'memory', bytes, label: 'WADO-RS part' });
      await spoolInstance(context.spoolDir, header.studyInstanceUid, header.sopInstanceUid, bytes);
    },
    { maxInstanceBytes: settings.maxInstanceBytes },
  );
}

export async function pollOnce(context: PollContext): Promise<PollReport> {
  const { settings, queue } = context;
  const now = context.now ?? new Date();
  const watermark = queue.getState(WATERMARK);
  const from = watermark ? new Date(fromDicomDate(watermark).getTime() - settings.overlapDays * DAY_MS) : new Date(now.getTime() - settings.lookbackDays * DAY_MS);
  const { studies, capped } = await findStudies(settings, from, now);
  const report: PollReport = { window: [dicomDate(from), dicomDate(now)], studiesFound: studies.length, studiesFetched: 0, studiesSkipped: 0, instancesRetrieved: 0, capped, errors: [] };
  if (capped) logger.warn('poll: the server capped results even for single days; some studies may be missed', { window: report.window });
  for (const study of studies) {
    const studyInstanceUid = firstString(study, '0020000D');
    if (!studyInstanceUid) continue;
    const count = firstString(study, '00201208') ?? '?';
    const seenKey = `poll:seen:${studyInstanceUid}`;
    if (queue.getState(seenKey) === count && count !== '?') {
      report.studiesSkipped++;
      continue;
    }
    try {
      const retrieved = await fetchStudy(context, studyInstanceUid);
      queue.setState(seenKey, count);
      if (retrieved === 0) {
        report.studiesSkipped++;
        continue;
      }
      report.instancesRetrieved += retrieved;
      report.studiesFetched++;
      context.onStudyReady(studyInstanceUid, await countSpooled(context.spoolDir, studyInstanceUid));
    } catch (error) {
      // One unreadable study must not stop the others; it is tried again at the next poll.
      report.errors.push({ studyInstanceUid, ...describeError(error) });
    }
  }
  // Only a clean pass moves the watermark: a failure keeps the window open for the next poll.
  if (report.errors.length === 0) queue.setState(WATERMARK, dicomDate(now));
  logger.info('poll done', { ...report, errors: report.errors.length });
  return report;
}

export interface PollerPart extends NodePart {
  /** Poll now (also what the cron schedule runs); null when no source is configured or the poll failed. */
  pollNow(): Promise<PollReport | null>;
}

/** The poller as a node part: a cron schedule of `pollOnce`, one poll at a time. */
export function createPoller(options: { config: Config; queue: JobQueue; onStudyReady: PollContext['onStudyReady'] }): PollerPart {
  const { config, queue, onStudyReady } = options;
  let polling: Promise<PollReport | null> | undefined;
  let schedule: ScheduledTask | undefined;
  const pollNow = (): Promise<PollReport | null> => {
    const source = config.poll.source;
    if (!source) return Promise.resolve(null);
    // One poll at a time: a slow PACS must not pile up overlapping polls.
    polling ??= pollOnce({
      settings: { ...config.poll, source, maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024 },
      queue,
      spoolDir: config.spoolDir,
      selection: config.selection,
      onStudyReady,
    })
      .catch((error: unknown) => {
        logger.error('poll failed', describeError(error));
        return null;
      })
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };
  return {
    name: 'poller',
    pollNow,
    async start() {
      if (config.poll.source) schedule = cron.schedule(config.poll.cron, () => void pollNow());
    },
    async stop() {
      await schedule?.stop();
      await polling;
    },
  };
}
