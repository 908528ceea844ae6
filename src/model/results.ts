/**
 * What the pipeline returns for a study: one line of `analyze` output (a public contract,
 * docs/cli.md) and the files written for it. Shared by the pipeline, the node and the CLI.
 */
import type { LevelInfo } from './levels.ts';
import type { BodyMeasurements, MuscleMeasurements, SegmenterInfo } from './measurements.ts';

/** A "low muscle" verdict from a site-configured cut-off, with its citation. */
export interface Verdict {
  lowMuscle: boolean;
  measure: 'smi' | 'area';
  value: number;
  threshold: number;
  citation: string;
}

export interface OutputFile {
  path: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/** Files written for a study (with --out, or by the node): the DICOM objects and the JSON result. */
export interface StudyOutputs {
  seg?: OutputFile;
  sr?: OutputFile;
  overlay?: OutputFile;
  json?: string;
}

/** One line of `analyze` output per study: a public contract (docs/cli.md). */
export interface StudyResult {
  studyInstanceUid: string;
  seriesInstanceUid: string | null;
  status: 'ok' | string;
  message: string;
  level: LevelInfo | null;
  muscle: Omit<MuscleMeasurements, 'pixelCount'> | null;
  segmenter: SegmenterInfo | null;
  flags: string[];
  /** "Low muscle" only from a site-configured cut-off, with its citation; null when none applies. */
  verdict: Verdict | null;
  /** With measurement.slices "body" only (absent otherwise): every slice inside the vertebral body. */
  body?: BodyMeasurements;
  outputs: StudyOutputs;
}
