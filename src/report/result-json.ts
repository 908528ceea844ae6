/**
 * The per-study JSON result: the same facts as the SR, for scripts, dashboards and the job
 * queue. Full-precision numbers (the SR rounds them), null for anything not measured or not
 * finite (JSON has no NaN), and the UIDs of the SEG and SR that were written.
 */
import { stringValue } from '../dicom/dataset-values.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import type { BodyMeasurements, FigureSpread, HuWindow, LevelEvidence, LevelInfo, MuscleMeasurements, SegmenterInfo, SegmenterRuntime, SliceNotMeasured } from '../model/index.ts';
import type { BodyFrame, WrittenInstance } from './types.ts';

export const RESULT_SCHEMA = 'ct-muscle-node/result@1';

export interface ResultJsonInput {
  source: InstanceHeader;
  level: LevelInfo;
  segmenter: SegmenterInfo;
  huWindow: HuWindow;
  flags: string[];
  measurements: MuscleMeasurements | null;
  /** measurement.slices "body": the body's figures, and the SEG frame of each of its slices. */
  body?: { figures: BodyMeasurements; frames?: BodyFrame[] };
  notMeasurableReason?: string;
  seg: WrittenInstance | null;
  sr: WrittenInstance | null;
  /** The Secondary Capture overlay, when one was written. */
  overlay?: WrittenInstance | null;
  created: Date;
  softwareVersion?: string;
}

export interface OutputRef {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number;
}

type JsonMeasurements = {
  areaCm2: number | null;
  meanHu: number | null;
  sdHu: number | null;
  imatAreaCm2: number | null;
  lowAttenuationFraction: number | null;
  smiCm2PerM2: number | null;
  pixelCount: number | null;
};

/** measurement.slices "body" (absent otherwise): each figure's mean and range over the body's measured slices. */
export interface ResultBody {
  bodyMm: [number, number];
  rule: string;
  sliceCount: number;
  areaCm2: FigureSpread;
  meanHu: FigureSpread;
  imatAreaCm2: FigureSpread | null;
  smiCm2PerM2: FigureSpread | null;
  /** Inferior → superior; the measured (mid) slice is one of them. */
  slices: Array<{ sliceIndex: number; sopInstanceUid: string; zMm: number; segFrameNumber: number | null; measurements: JsonMeasurements; flags: string[] }>;
  notMeasured: SliceNotMeasured[];
}

export interface ResultJson {
  schema: typeof RESULT_SCHEMA;
  status: 'measured' | 'not-measurable';
  reason: string | null;
  created: string;
  software: { name: 'ct-muscle-node'; version: string | null };
  study: { studyInstanceUid: string; patientId: string | null; accessionNumber: string | null; studyDate: string | null };
  series: { seriesInstanceUid: string; seriesNumber: number | null; seriesDescription: string | null };
  slice: { sopInstanceUid: string; instanceNumber: number | null; sliceIndex: number | null; zMm: number | null };
  level: {
    name: string;
    method: string | null;
    rule: string | null;
    confidence: number | null;
    warnings: string[];
    /** The level finder's evidence (vertebrae, discs, anchors); null for a given slice. */
    evidence: LevelEvidence | null;
  };
  segmenter: { id: string; version: string; prompt: string | null; runtime?: SegmenterRuntime };
  huWindow: HuWindow;
  measurements: JsonMeasurements | null;
  body?: ResultBody;
  flags: string[];
  outputs: { seg: OutputRef | null; sr: OutputRef | null; overlay: OutputRef | null };
}

const orNull = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function jsonMeasurements(m: MuscleMeasurements): JsonMeasurements {
  return {
    areaCm2: orNull(m.areaCm2),
    meanHu: orNull(m.meanHu),
    sdHu: orNull(m.sdHu),
    imatAreaCm2: orNull(m.imatAreaCm2),
    lowAttenuationFraction: orNull(m.lowAttenuationFraction),
    smiCm2PerM2: orNull(m.smiCm2PerM2),
    pixelCount: orNull(m.pixelCount),
  };
}

function resultBody({ figures, frames }: NonNullable<ResultJsonInput['body']>): ResultBody {
  const { bodyMm, rule, areaCm2, meanHu, imatAreaCm2, smiCm2PerM2, notMeasured } = figures;
  const slices = figures.slices.map((s) => ({
    sliceIndex: s.sliceIndex,
    sopInstanceUid: s.sopInstanceUid,
    zMm: s.zMm,
    segFrameNumber: frames?.find((f) => f.sopInstanceUid === s.sopInstanceUid)?.frameNumber ?? null,
    measurements: jsonMeasurements(s.muscle),
    flags: [...s.flags],
  }));
  return { bodyMm, rule, sliceCount: slices.length, areaCm2, meanHu, imatAreaCm2, smiCm2PerM2, slices, notMeasured: [...notMeasured] };
}

function outputRef(w: WrittenInstance | null): OutputRef | null {
  return w ? { sopClassUid: w.sopClassUid, sopInstanceUid: w.sopInstanceUid, seriesInstanceUid: w.seriesInstanceUid, seriesNumber: w.seriesNumber } : null;
}

export function buildResultJson(input: ResultJsonInput): ResultJson {
  const { source, level, measurements } = input;
  if (Number.isNaN(input.created.getTime())) throw new CtMuscleError('E_REPORT_INVALID', 'created is not a valid date.');
  if (!measurements && !input.notMeasurableReason) {
    throw new CtMuscleError('E_REPORT_INVALID', 'A result without measurements needs notMeasurableReason.');
  }
  return {
    schema: RESULT_SCHEMA,
    status: measurements ? 'measured' : 'not-measurable',
    reason: measurements ? null : input.notMeasurableReason!,
    created: input.created.toISOString(),
    software: { name: 'ct-muscle-node', version: input.softwareVersion ?? null },
    study: {
      studyInstanceUid: source.studyInstanceUid,
      patientId: stringValue(source.dataset, 'PatientID') ?? null,
      accessionNumber: stringValue(source.dataset, 'AccessionNumber') ?? null,
      studyDate: stringValue(source.dataset, 'StudyDate') ?? null,
    },
    series: {
      seriesInstanceUid: source.seriesInstanceUid,
      seriesNumber: source.seriesNumber ?? null,
      seriesDescription: source.seriesDescription ?? null,
    },
    slice: {
      sopInstanceUid: source.sopInstanceUid,
      instanceNumber: source.instanceNumber ?? null,
      sliceIndex: orNull(level.sliceIndex),
      zMm: orNull(level.zMm ?? source.imagePositionPatient?.[2]),
    },
    level: {
      name: level.name,
      method: level.method ?? null,
      rule: level.rule ?? null,
      confidence: orNull(level.confidence),
      warnings: [...(level.warnings ?? [])],
      evidence: level.name === 'as-provided' ? null : (level.evidence ?? null),
    },
    segmenter: { id: input.segmenter.id, version: input.segmenter.version, prompt: input.segmenter.prompt ?? null, ...(input.segmenter.runtime ? { runtime: input.segmenter.runtime } : {}) },
    huWindow: { lowerHu: input.huWindow.lowerHu, upperHu: input.huWindow.upperHu },
    measurements: measurements ? jsonMeasurements(measurements) : null,
    ...(measurements && input.body ? { body: resultBody(input.body) } : {}),
    flags: [...input.flags],
    outputs: { seg: outputRef(input.seg), sr: outputRef(input.sr), overlay: outputRef(input.overlay ?? null) },
  };
}
