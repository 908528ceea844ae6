/**
 * Where the pixels go. Patient position only flips the axial pixel grid (scanners display the
 * patient's right on the viewer's left and anterior up, whatever way the patient lies), and sets
 * the order slices are acquired in. The anatomy is sampled at each pixel's patient coordinate,
 * so the same point carries the same tissue in every layout.
 */
import type { PatientPosition } from './options.ts';
import type { Grid } from './raster.ts';

export type Vec3 = [number, number, number];
export type Orientation6 = [number, number, number, number, number, number];

export interface SliceLayout {
  /** Column c ↔ x, row r ↔ y. */
  grid: Grid;
  imageOrientationPatient: Orientation6;
  /** [row spacing, column spacing] (PixelSpacing order); pixels are square. */
  pixelSpacingMm: [number, number];
  /** x and y of the first pixel's centre (ImagePositionPatient without z). */
  originXY: [number, number];
  /** Head-first positions are acquired from the head down. */
  headFirst: boolean;
}

const ORIENTATIONS: Record<PatientPosition, Orientation6> = {
  HFS: [1, 0, 0, 0, 1, 0],
  FFS: [-1, 0, 0, 0, 1, 0],
  HFP: [-1, 0, 0, 0, -1, 0],
  FFP: [1, 0, 0, 0, -1, 0],
};

export function sliceLayout(position: PatientPosition, rows: number, columns: number, fieldOfViewMm: number): SliceLayout {
  const iop = ORIENTATIONS[position];
  const spacing = fieldOfViewMm / columns;
  const dx = iop[0] * spacing;
  const dy = iop[4] * spacing;
  // The image is centred on the isocentre: pixel centres at ±(n − 1)/2 spacings.
  const x0 = -Math.sign(dx) * ((columns - 1) / 2) * spacing;
  const y0 = -Math.sign(dy) * ((rows - 1) / 2) * spacing;
  return {
    grid: { nx: columns, ny: rows, x0, dx, y0, dy },
    imageOrientationPatient: [...iop] as Orientation6,
    pixelSpacingMm: [spacing, spacing],
    originXY: [x0, y0],
    headFirst: position === 'HFS' || position === 'HFP',
  };
}

/** Row-major index in the head-first-supine layout of the pixel at (row, column) of this layout. */
export function canonicalIndex(layout: SliceLayout, row: number, column: number): number {
  const { grid } = layout;
  const r = grid.dy > 0 ? row : grid.ny - 1 - row;
  const c = grid.dx > 0 ? column : grid.nx - 1 - column;
  return r * grid.nx + c;
}
