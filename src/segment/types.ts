/**
 * The one segmenter contract: an axial HU slice with its geometry in, a native-grid binary mask
 * and the facts needed to reproduce it out. Every segmenter (model-free or ONNX) honours it, so
 * the pipeline, the reports and the benchmarks never care which one ran.
 */

export type Vec3 = [number, number, number];

/** One axial slice in Hounsfield units, row-major, with what is needed to know anatomy directions. */
export interface SliceImage {
  /** HU, row-major: pixel (row r, column c) at r*columns + c. */
  hu: Int16Array;
  rows: number;
  columns: number;
  /** [row spacing, column spacing] in mm (PixelSpacing order). */
  pixelSpacingMm: [number, number];
  /** Patient (LPS) direction of increasing column. */
  rowCosine: Vec3;
  /** Patient (LPS) direction of increasing row. */
  columnCosine: Vec3;
}

export interface SegmentInput extends SliceImage {
  /** Adjacent slices on the same grid (e.g. k−1 and k+1); optional context, never required. */
  neighbours?: Int16Array[];
  /**
   * The vertebral level the slice is meant to show ('T12', 'L3', …), when known. Lets a segmenter
   * say (in `reviewFlags`) that the slice is outside what it was made for; never changes the mask.
   */
  level?: string;
}

/** Pixel box on the native grid: x = column, y = row, inclusive-exclusive edges in pixel units. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface PromptInfo {
  /** Where the box came from. */
  source: 'detector' | 'fallback-muscle-hu' | 'none';
  box: Box | null;
  /** Detector confidence of the chosen box (null for the fallback). */
  score: number | null;
}

/** The execution providers a site may configure (segmentation.models.executionProviders). */
export const EXECUTION_PROVIDERS = ['webgpu', 'cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Why a preferred provider did not start: a short, bounded code (a metrics label) and the runtime's message. */
export type ProviderSkipReason = 'no-adapter' | 'library-missing' | 'not-in-build' | 'error';

export interface SkippedProvider {
  provider: string;
  reason: ProviderSkipReason;
  message: string;
}

export interface ProviderChoice {
  /** The providers the configuration asked for, in order. */
  requested: string[];
  /** The provider the session was created on (nodes it cannot run are placed on the CPU by the runtime). */
  used: string;
  /** Preferred providers that could not start, in the order they were tried. */
  skipped: SkippedProvider[];
}

/** The ONNX session behind one role of a model pipeline, and the provider it runs on. */
export interface SessionDiagnostics extends ProviderChoice {
  role: 'encoder' | 'decoder' | 'detector';
  /** Manifest id of the model. */
  model: string;
}

export interface SegmentDiagnostics {
  prompt: PromptInfo;
  /** Model scores (e.g. SAM predicted IoU), by name. */
  scores: Record<string, number>;
  /** Stage timings in milliseconds, by name. */
  timingsMs: Record<string, number>;
  /** Pixels of the body that belong to the arms (excluded from the trunk), when known. */
  armPixels?: number;
  /** Free-form counts and notes useful in review (never patient data). */
  notes: string[];
  /**
   * Where the anatomic rules placed the spinal canal (image millimetres: x along the columns, y
   * along the rows), which the paraspinal, psoas and linea-alba rules are measured from; null when
   * no vertebra was found. Absent for other segmenters.
   */
  canalMm?: [number, number] | null;
  /**
   * Execution provider the ONNX sessions run on, when a model ran: 'webgpu', 'cuda' or 'cpu';
   * several joined by '+' when the models ended up on different ones (e.g. 'webgpu+cpu').
   */
  executionProvider?: string;
  /** Per model: the providers asked for, the one used, and why a preferred one was skipped. */
  sessions?: SessionDiagnostics[];
}

export interface SegmentResult {
  /** 0/1 on the native grid: skeletal muscle after the −29..150 HU rule. */
  mask: Uint8Array;
  /**
   * Muscle envelope before the HU rule (muscle plus the fat between muscles), 0/1, native grid.
   * Intermuscular fat (IMAT) is measured inside it.
   */
  envelope: Uint8Array;
  /** Trunk body mask (arms and table removed), when the segmenter computed one. */
  body?: Uint8Array;
  /** Arm pixels beside the trunk, when the segmenter computed them. */
  arms?: Uint8Array;
  segmenter: { id: string; version: string };
  diagnostics: SegmentDiagnostics;
  /**
   * Reasons to review the mask that only the segmenter can see (level or anatomy it has no rules
   * for, trunk cut by the image edge, a muscle it could not find), as `code: explanation` strings.
   * They travel into the measurement's flags.
   */
  reviewFlags?: string[];
}

export interface Segmenter {
  readonly id: string;
  readonly version: string;
  segment(input: SegmentInput): Promise<SegmentResult>;
}
