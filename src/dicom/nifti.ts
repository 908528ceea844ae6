/**
 * NIfTI volumes (.nii, .nii.gz) → the same CtVolume the DICOM path builds, so research users'
 * volumes go through the same stages. Read with nifti-reader-js. Axis-aligned volumes are
 * re-ordered to the usual DICOM axial layout (columns toward patient Left, rows toward
 * Posterior, slices inferior → superior); the affine is honoured exactly, never guessed.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as NiftiReader from 'nifti-reader-js';
import { CtMuscleError } from '../errors.ts';
import { planeOf, type Vec3 } from './geometry.ts';
import { PADDING_HU } from './hu.ts';
import type { CtVolume, SliceInfo } from './types.ts';

type Voxels = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const DATATYPES: Record<number, { new (buffer: ArrayBufferLike): Voxels; BYTES_PER_ELEMENT: number }> = {
  2: Uint8Array,
  4: Int16Array,
  8: Int32Array,
  16: Float32Array,
  64: Float64Array,
  256: Int8Array,
  512: Uint16Array,
  768: Uint32Array,
};

export function isNiftiPath(path: string): boolean {
  return /\.nii(\.gz)?$/i.test(path);
}

function column(affine: number[][], index: number): Vec3 {
  // RAS → LPS: negate x and y.
  return [-affine[0][index], -affine[1][index], affine[2][index]];
}

/**
 * For each patient axis (x=L, y=P, z=S) the voxel axis that runs along it and whether it runs
 * backwards. Oblique volumes keep the voxel order (no re-sampling, no guessing).
 */
function canonicalAxes(directions: Vec3[]): { axisFor: [number, number, number]; flip: [boolean, boolean, boolean] } {
  const axisFor: number[] = [];
  for (let patient = 0; patient < 3; patient++) {
    let best = 0;
    for (let v = 1; v < 3; v++) if (Math.abs(directions[v][patient]) > Math.abs(directions[best][patient])) best = v;
    axisFor.push(best);
  }
  if (new Set(axisFor).size !== 3) return { axisFor: [0, 1, 2], flip: [false, false, false] };
  const flip = axisFor.map((v, patient) => directions[v][patient] < 0) as [boolean, boolean, boolean];
  return { axisFor: axisFor as [number, number, number], flip };
}

/** The file's header and image bytes (gunzipped when needed); typed errors for anything else. */
async function readNiftiFile(path: string): Promise<{ header: NonNullable<ReturnType<typeof NiftiReader.readHeader>>; buffer: ArrayBuffer; nifti: typeof NiftiReader }> {
  // Loaded on first use: `analyze` of a DICOM folder reads no NIfTI (~20 ms of start-up saved).
  const nifti = await import('nifti-reader-js');
  let buffer: ArrayBuffer;
  try {
    const bytes = await readFile(path);
    buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (error) {
    throw new CtMuscleError('E_IO', `Cannot read ${path}: ${(error as Error).message}`);
  }
  if (nifti.isCompressed(buffer)) buffer = nifti.decompress(buffer) as ArrayBuffer;
  if (!nifti.isNIFTI(buffer)) throw new CtMuscleError('E_NOT_NIFTI', `${path} is not a NIfTI-1/2 file.`);
  const header = nifti.readHeader(buffer);
  if (!header) throw new CtMuscleError('E_NOT_NIFTI', `${path}: unreadable NIfTI header.`);
  return { header, buffer, nifti };
}

export async function readNiftiVolume(path: string): Promise<CtVolume> {
  const { header, buffer, nifti } = await readNiftiFile(path);
  const Type = DATATYPES[header.datatypeCode];
  if (!Type) throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `${path}: NIfTI datatype ${header.datatypeCode} is not supported.`);
  const dims = [header.dims[1], header.dims[2], header.dims[3] || 1];
  if ((header.dims[4] ?? 1) > 1) throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `${path}: 4-D NIfTI (time series) is not a CT volume.`);
  const image = nifti.readImage(header, buffer);
  const voxels = new Type(image.slice(0, dims[0] * dims[1] * dims[2] * Type.BYTES_PER_ELEMENT));
  const slope = header.scl_slope && Number.isFinite(header.scl_slope) ? header.scl_slope : 1;
  const intercept = Number.isFinite(header.scl_inter) ? header.scl_inter : 0;

  const affine = header.affine;
  const directions = [0, 1, 2].map((i) => column(affine, i));
  const spacing = directions.map((d) => Math.hypot(d[0], d[1], d[2]));
  const unit = directions.map((d, i) => d.map((v) => v / spacing[i] + 0) as Vec3); // + 0 turns −0 into 0
  const { axisFor, flip } = canonicalAxes(unit);
  const [colAxis, rowAxis, sliceAxis] = axisFor;
  const columns = dims[colAxis];
  const rows = dims[rowAxis];
  const sliceCount = dims[sliceAxis];
  const signed = (axis: number, patient: number) => (flip[patient] ? unit[axis].map((v) => 0 - v) : unit[axis]) as Vec3;
  const rowCosine = signed(colAxis, 0);
  const columnCosine = signed(rowAxis, 1);
  const normal = signed(sliceAxis, 2);

  const strides = [1, dims[0], dims[0] * dims[1]];
  const hu = new Int16Array(rows * columns * sliceCount);
  const origin = column(affine, 3);
  const slices: SliceInfo[] = [];
  for (let s = 0; s < sliceCount; s++) {
    const vs = flip[2] ? sliceCount - 1 - s : s;
    for (let r = 0; r < rows; r++) {
      const vr = flip[1] ? rows - 1 - r : r;
      for (let c = 0; c < columns; c++) {
        const vc = flip[0] ? columns - 1 - c : c;
        const raw = voxels[vs * strides[sliceAxis] + vr * strides[rowAxis] + vc * strides[colAxis]];
        const value = Number.isFinite(raw) ? Math.round(raw * slope + intercept) : PADDING_HU;
        hu[(s * rows + r) * columns + c] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
      }
    }
    // Patient position of this slice's first stored pixel (row 0, column 0).
    const index = [0, 0, 0];
    index[colAxis] = flip[0] ? columns - 1 : 0;
    index[rowAxis] = flip[1] ? rows - 1 : 0;
    index[sliceAxis] = vs;
    const ipp = [0, 1, 2].map((p) => origin[p] + directions[0][p] * index[0] + directions[1][p] * index[1] + directions[2][p] * index[2]) as Vec3;
    slices.push({
      sopInstanceUid: `nifti:${basename(path)}#${vs}`,
      imagePositionPatient: ipp,
      normalOffsetMm: ipp[0] * normal[0] + ipp[1] * normal[1] + ipp[2] * normal[2],
      zMm: ipp[2],
      rescaleSlope: 1,
      rescaleIntercept: 0,
      source: { kind: 'file', path },
      frameIndex: vs,
    });
  }
  const name = `nifti:${basename(path)}`;
  return {
    studyInstanceUid: name,
    seriesInstanceUid: name,
    geometry: {
      rows,
      columns,
      rowCosine,
      columnCosine,
      normal,
      plane: planeOf(normal),
      pixelSpacingMm: [spacing[rowAxis], spacing[colAxis]],
      sliceSpacingMm: sliceCount > 1 ? spacing[sliceAxis] : null,
      sliceThicknessMm: sliceCount > 1 ? spacing[sliceAxis] : null,
      gantryTiltDeg: 0,
    },
    slices,
    hu,
    paddingHu: PADDING_HU,
    issues: [],
  };
}
