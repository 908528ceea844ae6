/** Shapes of a batch run shared by the runner, the worker, the store and the writers. */

/** One study found under the inputs: its files and a fingerprint of them. */
export interface BatchStudy {
  studyInstanceUid: string;
  files: string[];
  /** sha256 of the study's SOP Instance UIDs and file sizes: a changed study is run again. */
  inputHash: string;
  /** Folders the files are in, for people. */
  source: string;
}

/** One row of results.csv. Numbers are null when not measured or not known. */
export interface BatchRow {
  studyInstanceUid: string;
  seriesInstanceUid: string | null;
  accessionNumber: string | null;
  patientAge: string | null;
  patientSex: string | null;
  patientHeightM: number | null;
  level: string | null;
  sliceSopInstanceUid: string | null;
  sliceZMm: number | null;
  smaCm2: number | null;
  smraMeanHu: number | null;
  smraSdHu: number | null;
  imatCm2: number | null;
  lowAttenuationFraction: number | null;
  smiCm2PerM2: number | null;
  /** measurement.slices "body": the slices measured inside the vertebral body and their mean and range (null otherwise). */
  body: { slices: number; smaMeanCm2: number; smaMinCm2: number; smaMaxCm2: number; smiMeanCm2PerM2: number | null } | null;
  verdict: string | null;
  flags: string[];
  segmenterId: string | null;
  segmenterVersion: string | null;
  /** 'ok' or the error code. */
  status: string;
  message: string;
  source: string;
  /** Thumbnail path relative to the output folder, when drawn. */
  thumbnail: string | null;
  /** SEG/SR written for the study (with --dicom), relative to the output folder. */
  outputs: string[];
}

/** What a batch needs to run one study (sent to a worker; structured-clonable). */
export interface StudyTask {
  study: BatchStudy;
  outDir: string;
  /** Write seg.dcm/sr.dcm/result.json under OUT/studies/<StudyInstanceUID>/. */
  dicom: boolean;
  segmenter?: 'default' | 'sam';
  target?: 'T12' | 'L1' | 'L2' | 'L3';
}

export type BatchEvent =
  | { event: 'start'; total: number; skipped: number; toRun: number; concurrency: number }
  | { event: 'study'; done: number; total: number; studyInstanceUid: string; status: string; seconds: number }
  | { event: 'end'; done: number; failed: number; skipped: number; stopped: boolean; seconds: number };
