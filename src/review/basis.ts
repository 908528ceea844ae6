/**
 * The result in force for a study, rebuilt from what the node kept (spool CT, result.json, the SEG
 * or a stored edited SEG) into the SR writer's input: what "accept" verifies, "reject" withdraws,
 * and the study page draws.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { correctionReport } from '../correction.ts';
import { scanPaths } from '../dicom/scan.ts';
import { groupIntoSeries } from '../dicom/series.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { planVolume } from '../dicom/volume.ts';
import { CtMuscleError } from '../errors.ts';
import type { LevelInfo } from '../model/index.ts';
import { maskForSlice, readSegMask, segReferenceOf, type BodyFrame, type BodyReportInput, type ResultJson, type SegReadout, type SrInput, type SrPredecessor } from '../report/index.ts';
import type { ReviewRecord } from './review-store.ts';

export interface Basis {
  kind: 'original' | 'corrected';
  srInput: Omit<SrInput, 'options'>;
  /** The mask on the measured slice (source grid). */
  mask: Uint8Array;
  /** The measured series, ordered inferior → superior, and the measured slice's index in it. */
  ordered: InstanceHeader[];
  sliceIndex: number;
  /** The SR now in force: the amended one of the newest review that wrote one, else the node's. */
  predecessor: SrPredecessor;
}

export interface BasisSources {
  spoolDir: string;
  outputsDir: string;
}

/** The measured series' headers from the spool, ordered as the volume orders them. */
export async function seriesHeaders(spoolDir: string, studyInstanceUid: string, seriesInstanceUid: string): Promise<InstanceHeader[]> {
  const { headers } = await scanPaths([join(spoolDir, studyInstanceUid)]);
  const group = groupIntoSeries(headers).find((g) => g.seriesInstanceUid === seriesInstanceUid);
  if (!group) throw new CtMuscleError('E_STUDY_NOT_FOUND', `The measured series ${seriesInstanceUid} is no longer in the spool.`);
  return planVolume(group).ordered;
}

function levelOf(json: ResultJson, sliceIndex: number): LevelInfo {
  const { level, slice } = json;
  const common = { sliceIndex, sopInstanceUid: slice.sopInstanceUid, warnings: level.warnings, confidence: level.confidence };
  if (level.name === 'as-provided') return { name: 'as-provided', ...common, zMm: slice.zMm ?? undefined, rule: level.rule ?? undefined, method: level.method ?? undefined };
  return { name: level.name as 'T12', ...common, zMm: slice.zMm ?? 0, rule: level.rule ?? '', method: level.method ?? '' };
}

function predecessorOf(records: ReviewRecord[], json: ResultJson): SrPredecessor {
  const amended = records.filter((r) => r.detail.sr).at(-1)?.detail.sr as SrPredecessor | undefined;
  if (amended) return amended;
  const sr = json.outputs.sr!;
  return { studyInstanceUid: json.study.studyInstanceUid, seriesInstanceUid: sr.seriesInstanceUid, sopClassUid: sr.sopClassUid, sopInstanceUid: sr.sopInstanceUid };
}

/** A JSON figure back to a number (the JSON writes non-finite values as null). */
const numberOr = (v: number | null): number => v ?? Number.NaN;

/**
 * measurement.slices "body": the node's body figures and each body slice's mask from its SEG, so
 * an accepted SR carries them as the node's SR did. Null without a body measurement.
 */
function bodyOf(json: ResultJson, readout: SegReadout, ordered: InstanceHeader[]): { body: BodyReportInput; bodyFrames: BodyFrame[] } | null {
  if (!json.body) return null;
  const missing = () => new CtMuscleError('E_REVIEW_STATE', `The node's SEG of study ${json.study.studyInstanceUid} lacks a body slice its result lists.`);
  const slices = json.body.slices.map((s) => {
    const source = ordered.find((h) => h.sopInstanceUid === s.sopInstanceUid);
    const frame = readout.frames.find((f) => f.referencedSopInstanceUid === s.sopInstanceUid && f.pixelCount > 0);
    const mask = frame ? maskForSlice(readout, s.sopInstanceUid, frame.segmentNumber) : null;
    if (!source || !frame || !mask) throw missing();
    const m = s.measurements;
    const muscle = { areaCm2: numberOr(m.areaCm2), meanHu: numberOr(m.meanHu), sdHu: numberOr(m.sdHu), imatAreaCm2: m.imatAreaCm2, lowAttenuationFraction: m.lowAttenuationFraction, smiCm2PerM2: m.smiCm2PerM2, pixelCount: m.pixelCount ?? frame.pixelCount };
    const ref = segReferenceOf(readout, frame, mask);
    return { source, mask, measured: { sliceIndex: s.sliceIndex, sopInstanceUid: s.sopInstanceUid, zMm: s.zMm, muscle, flags: s.flags }, frame: { sopInstanceUid: s.sopInstanceUid, frameNumber: ref.frameNumber, anchor: ref.anchor! } };
  });
  const { bodyMm, rule, notMeasured, areaCm2, meanHu, imatAreaCm2, smiCm2PerM2 } = json.body;
  const figures = { bodyMm, rule, notMeasured, areaCm2, meanHu, imatAreaCm2, smiCm2PerM2, slices: slices.map((s) => s.measured) };
  return { body: { figures, slices: slices.map(({ source, mask }) => ({ source, mask })) }, bodyFrames: slices.map((s) => s.frame) };
}

async function originalBasis(sources: BasisSources, json: ResultJson, ordered: InstanceHeader[], records: ReviewRecord[]): Promise<Basis> {
  const uid = json.study.studyInstanceUid;
  const sliceIndex = ordered.findIndex((h) => h.sopInstanceUid === json.slice.sopInstanceUid);
  if (sliceIndex < 0 || !json.measurements || !json.outputs.seg) throw new CtMuscleError('E_REVIEW_STATE', `Study ${uid} has no measured slice to review.`);
  const readout = await readSegMask(new Uint8Array(await readFile(join(sources.outputsDir, uid, 'seg.dcm'))));
  const frame = readout.frames.find((f) => f.referencedSopInstanceUid === json.slice.sopInstanceUid && f.pixelCount > 0);
  const mask = frame ? maskForSlice(readout, json.slice.sopInstanceUid, frame.segmentNumber) : null;
  if (!frame || !mask) throw new CtMuscleError('E_REVIEW_STATE', `The node's SEG of study ${uid} holds no mask on the measured slice.`);
  const source = ordered[sliceIndex];
  const m = json.measurements;
  const body = bodyOf(json, readout, ordered);
  return {
    kind: 'original',
    mask,
    ordered,
    sliceIndex,
    predecessor: predecessorOf(records, json),
    srInput: {
      source,
      seriesSlices: ordered,
      level: levelOf(json, sliceIndex),
      segmenter: { id: json.segmenter.id, version: json.segmenter.version, prompt: json.segmenter.prompt },
      flags: json.flags,
      huWindow: json.huWindow,
      measurements: { areaCm2: m.areaCm2!, meanHu: m.meanHu!, sdHu: m.sdHu!, imatAreaCm2: m.imatAreaCm2, lowAttenuationFraction: m.lowAttenuationFraction, smiCm2PerM2: m.smiCm2PerM2, pixelCount: m.pixelCount ?? frame.pixelCount },
      seg: { ...segReferenceOf(readout, frame, mask), ...(body ? { bodyFrames: body.bodyFrames } : {}) },
      ...(body ? { body: body.body } : {}),
    },
  };
}

/**
 * The result in force: the stored edited SEG of the correction in force (re-measured again, which
 * is deterministic and one slice), else the node's own result.
 */
export async function basisFor(sources: BasisSources, json: ResultJson, correction: ReviewRecord | null, records: ReviewRecord[]): Promise<Basis> {
  const ordered = await seriesHeaders(sources.spoolDir, json.study.studyInstanceUid, json.series.seriesInstanceUid);
  if (!correction) return originalBasis(sources, json, ordered, records);
  const segPath = String(correction.detail.editedSegPath);
  const measured = (correction.detail.measuredSlice as { sopInstanceUid?: string } | undefined)?.sopInstanceUid;
  const report = await correctionReport(new Uint8Array(await readFile(segPath)), ordered, segPath, measured);
  const sliceIndex = ordered.findIndex((h) => h.sopInstanceUid === report.result.measuredSlice.sopInstanceUid);
  return { kind: 'corrected', srInput: report.srInput, mask: report.mask, ordered, sliceIndex, predecessor: predecessorOf(records, json) };
}
