/**
 * Shapes shared by the DICOM core and the stages that consume it. Image math elsewhere works on
 * the typed arrays these carry; nothing here holds per-pixel objects.
 */

/** Where an instance's bytes live: read again on demand so a 1,000-slice series is never all in memory. */
export type InstanceSource =
  | { kind: 'file'; path: string }
  | { kind: 'memory'; bytes: Uint8Array; label: string };

/** A dcmjs naturalized dataset (keywords as keys). */
export type NaturalDataset = Record<string, unknown>;

/** The header of one instance: everything but the pixel data, with the fields the node relies on parsed. */
export interface InstanceHeader {
  source: InstanceSource;
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
  modality?: string;
  /** ImageType values, upper-cased (e.g. ["ORIGINAL", "PRIMARY", "AXIAL"]). */
  imageType: string[];
  seriesDescription?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  /** ConvolutionKernel values as written (vendors use one or several values). */
  convolutionKernel: string[];
  manufacturer?: string;
  softwareVersions: string[];
  bodyPartExamined?: string;
  rows?: number;
  columns?: number;
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** [row spacing (between rows), column spacing (between columns)] in mm, as in PixelSpacing. */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  gantryDetectorTilt?: number;
  numberOfFrames: number;
  /** RescaleSlope and RescaleIntercept (1 and 0 when absent). */
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Rows, Columns, BitsAllocated/Stored, HighBit, PixelRepresentation, … as the header gives them. */
  pixelAttributes: NaturalDataset;
  hasPixelData: boolean;
  /**
   * The naturalized header without PixelData, for attributes not parsed above. Headers the scan
   * read from files parse it on first use (`read.ts`, withLazyDataset): only the measured slice's is
   * ever needed. A header dcmjs cannot read then throws E_NOT_DICOM there.
   */
  dataset: NaturalDataset;
}

/** Pixel-format attributes needed to decode and rescale a frame. */
export interface PixelFormat {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  samplesPerPixel: number;
  photometricInterpretation: string;
  planarConfiguration: 0 | 1;
  numberOfFrames: number;
}

/** Orientation labels of a slice stack, from the slice normal (LPS). */
export type PlaneLabel = 'axial' | 'coronal' | 'sagittal' | 'oblique';

/** Geometry of an ordered slice stack. Positions are LPS millimetres. */
export interface VolumeGeometry {
  rows: number;
  columns: number;
  /** Row direction cosine (along a row, i.e. increasing column) and column direction cosine. */
  rowCosine: [number, number, number];
  columnCosine: [number, number, number];
  /** rowCosine × columnCosine. Slices are ordered by position along this normal. */
  normal: [number, number, number];
  plane: PlaneLabel;
  /** [row spacing, column spacing] in mm (PixelSpacing order). */
  pixelSpacingMm: [number, number];
  /** Median distance between consecutive slice positions along the normal; null for one slice. */
  sliceSpacingMm: number | null;
  sliceThicknessMm: number | null;
  /** Gantry tilt in degrees from GantryDetectorTilt or from positions drifting off the normal. */
  gantryTiltDeg: number;
}

export interface SliceInfo {
  sopInstanceUid: string;
  instanceNumber?: number;
  imagePositionPatient: [number, number, number];
  /** Position along the slice normal (mm): the sort key. */
  normalOffsetMm: number;
  /** Position along the patient's head-foot axis (LPS z, larger = superior). */
  zMm: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  source: InstanceSource;
  /** Frame within a multi-frame source; 0 for single-frame instances. */
  frameIndex: number;
}

export type GeometryIssueKind =
  | 'irregular-spacing'
  | 'gap'
  | 'duplicate-position'
  | 'gantry-tilt'
  | 'mixed-orientation'
  | 'several-stacks'
  | 'mixed-size'
  | 'mixed-pixel-spacing'
  | 'missing-position';

export interface GeometryIssue {
  kind: GeometryIssueKind;
  message: string;
}

/** A CT volume in Hounsfield units, slices ordered inferior → superior for axial stacks. */
export interface CtVolume {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
  geometry: VolumeGeometry;
  slices: SliceInfo[];
  /** HU, slice-major: voxel (slice k, row r, column c) at k*rows*columns + r*columns + c. */
  hu: Int16Array;
  /** Voxels that were padding (PixelPaddingValue) or outside the reconstruction are set to this value. */
  paddingHu: number;
  issues: GeometryIssue[];
}

/**
 * A series' slices and geometry without its full-resolution HU: what the level finder and the
 * choice of slices need (the pipeline decodes the whole series once onto the level finder's
 * grid and re-reads only the slices it measures at full resolution).
 */
export type SeriesLayout = Omit<CtVolume, 'hu' | 'paddingHu'>;

/** What the series-selection rules see of a series (headers only: no pixels decoded). */
export interface SeriesSummary {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  sopClassUids: string[];
  seriesDescription?: string;
  seriesNumber?: number;
  /** Union of ImageType values over the instances, upper-cased. */
  imageType: string[];
  convolutionKernel: string[];
  manufacturer?: string;
  softwareVersions: string[];
  instanceCount: number;
  /** Orientation of the stack when all instances share one; null when absent or mixed. */
  plane: PlaneLabel | null;
  /** Angle in degrees between the slice normal and the patient's head-foot axis; null when unknown. */
  normalTiltFromAxialDeg: number | null;
  sliceThicknessMm: number | null;
  sliceSpacingMm: number | null;
  /** [inferior, superior] LPS z range covered by slice positions; null when unknown. */
  zRangeMm: [number, number] | null;
  issues: GeometryIssue[];
}
