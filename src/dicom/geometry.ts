/**
 * Slice-stack geometry from Image Plane attributes: orientation with tolerance, ordering along
 * the normal, spacing, and the irregularities (gaps, tilt, mixed stacks) that make a volume
 * unsafe to measure.
 */
import type { GeometryIssue, GeometryIssueKind, InstanceHeader, PlaneLabel } from './types.ts';
import { median } from '../image/statistics.ts';

/** Issues that make one volume meaningless: the node refuses such a series rather than measures it. */
export const BLOCKING_ISSUES: readonly GeometryIssueKind[] = Object.freeze([
  'mixed-orientation',
  'several-stacks',
  'mixed-size',
  'mixed-pixel-spacing',
  'duplicate-position',
]);

export type Vec3 = [number, number, number];

/** Cosines within this angle are one orientation; scanners write cosines with ~6 significant digits. */
export const ORIENTATION_TOLERANCE_DEG = 1;

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function normalize(a: Vec3): Vec3 {
  const n = Math.hypot(a[0], a[1], a[2]);
  return n === 0 ? [0, 0, 0] : [a[0] / n, a[1] / n, a[2] / n];
}

export function angleDeg(a: Vec3, b: Vec3): number {
  const c = dot(normalize(a), normalize(b));
  return (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI;
}

export function cosinesOf(iop: readonly number[]): { row: Vec3; column: Vec3; normal: Vec3 } {
  const row = normalize([iop[0], iop[1], iop[2]]);
  const column = normalize([iop[3], iop[4], iop[5]]);
  return { row, column, normal: normalize(cross(row, column)) };
}

/** The plane a normal is closest to, or oblique when it is more than 30° from all three axes. */
export function planeOf(normal: Vec3): PlaneLabel {
  const axes: Array<[PlaneLabel, Vec3]> = [
    ['axial', [0, 0, 1]],
    ['coronal', [0, 1, 0]],
    ['sagittal', [1, 0, 0]],
  ];
  let best: PlaneLabel = 'oblique';
  let bestAngle = 30;
  for (const [label, axis] of axes) {
    const angle = Math.min(angleDeg(normal, axis), 180 - angleDeg(normal, axis));
    if (angle <= bestAngle) {
      best = label;
      bestAngle = angle;
    }
  }
  return best;
}

/** Angle between the slice normal and the head-foot axis, in degrees (0 for a true axial stack). */
export function tiltFromAxialDeg(normal: Vec3): number {
  const angle = angleDeg(normal, [0, 0, 1]);
  return Math.min(angle, 180 - angle);
}

export function sameOrientation(a: readonly number[], b: readonly number[], toleranceDeg = ORIENTATION_TOLERANCE_DEG): boolean {
  const ca = cosinesOf(a);
  const cb = cosinesOf(b);
  return angleDeg(ca.row, cb.row) <= toleranceDeg && angleDeg(ca.column, cb.column) <= toleranceDeg;
}

export interface StackAnalysis {
  /** Instances in stack order (ascending position along the normal). */
  ordered: InstanceHeader[];
  offsetsMm: number[];
  row: Vec3;
  column: Vec3;
  normal: Vec3;
  sliceSpacingMm: number | null;
  gantryTiltDeg: number;
  issues: GeometryIssue[];
}

/** Spacing deviations below this are rounding in IPP, not irregular spacing. */
const SPACING_TOLERANCE_MM = 0.05;
const SPACING_TOLERANCE_FRACTION = 0.1;

/**
 * Order instances along the slice normal and report what is irregular. Returns null when the
 * instances lack position or orientation (a single image without them is still usable).
 */
export function analyzeStack(instances: InstanceHeader[]): StackAnalysis | null {
  const positioned = instances.filter((i) => i.imagePositionPatient && i.imageOrientationPatient);
  if (positioned.length === 0) return null;
  const issues: GeometryIssue[] = [];
  if (positioned.length < instances.length) {
    issues.push({
      kind: 'missing-position',
      message: `${instances.length - positioned.length} of ${instances.length} instances lack ImagePositionPatient or ImageOrientationPatient.`,
    });
  }
  const reference = positioned[0].imageOrientationPatient!;
  const mismatched = positioned.filter((i) => !sameOrientation(reference, i.imageOrientationPatient!));
  if (mismatched.length > 0) {
    issues.push({
      kind: 'mixed-orientation',
      message: `${mismatched.length} of ${positioned.length} instances differ in orientation by more than ${ORIENTATION_TOLERANCE_DEG}°.`,
    });
  }
  const sizes = new Set(instances.map((i) => `${i.rows}x${i.columns}`));
  if (sizes.size > 1) issues.push({ kind: 'mixed-size', message: `Instances have different matrix sizes: ${[...sizes].join(', ')}.` });
  const spacings = new Set(instances.map((i) => (i.pixelSpacing ? i.pixelSpacing.map((v) => v.toFixed(4)).join('\\') : 'none')));
  if (spacings.size > 1) issues.push({ kind: 'mixed-pixel-spacing', message: `Instances have different PixelSpacing: ${[...spacings].join(', ')}.` });

  const { row, column, normal } = cosinesOf(reference);
  const withOffset = positioned.map((i) => ({ instance: i, offset: dot(i.imagePositionPatient!, normal) }));
  withOffset.sort((a, b) => a.offset - b.offset || (a.instance.instanceNumber ?? 0) - (b.instance.instanceNumber ?? 0));
  const offsetsMm = withOffset.map((w) => w.offset);
  const ordered = withOffset.map((w) => w.instance);

  const steps: number[] = [];
  let duplicates = 0;
  for (let k = 1; k < offsetsMm.length; k++) {
    const step = offsetsMm[k] - offsetsMm[k - 1];
    if (step < SPACING_TOLERANCE_MM) duplicates++;
    else steps.push(step);
  }
  if (duplicates > 0) {
    // Each position repeated the same number of times is two reconstructions (or phases) in one series.
    const distinct = offsetsMm.length - duplicates;
    const evenlyRepeated = distinct > 1 && offsetsMm.length % distinct === 0;
    issues.push(
      evenlyRepeated
        ? { kind: 'several-stacks', message: `The series holds ${offsetsMm.length / distinct} stacks at the same ${distinct} positions.` }
        : { kind: 'duplicate-position', message: `${duplicates} instances share a position with another instance.` },
    );
  }
  const inPlane = positioned.map((i) => [dot(i.imagePositionPatient!, row), dot(i.imagePositionPatient!, column)]);
  const inPlaneSpread = Math.max(
    Math.max(...inPlane.map((p) => p[0])) - Math.min(...inPlane.map((p) => p[0])),
    Math.max(...inPlane.map((p) => p[1])) - Math.min(...inPlane.map((p) => p[1])),
  );
  // Positions carry float noise (0.99999…); report spacing to 0.1 µm.
  const sliceSpacingMm = steps.length > 0 ? Math.round(median(steps) * 1e4) / 1e4 : null;
  if (sliceSpacingMm !== null) {
    const tolerance = Math.max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_FRACTION * sliceSpacingMm);
    const gaps = steps.filter((s) => s > 1.5 * sliceSpacingMm);
    const irregular = steps.filter((s) => Math.abs(s - sliceSpacingMm) > tolerance && s <= 1.5 * sliceSpacingMm);
    if (gaps.length > 0) {
      issues.push({
        kind: 'gap',
        message: `${gaps.length} gap(s) in the stack: up to ${Math.max(...gaps).toFixed(2)} mm where the spacing is ${sliceSpacingMm.toFixed(2)} mm.`,
      });
    }
    if (irregular.length > 0) {
      issues.push({
        kind: 'irregular-spacing',
        message: `Slice spacing varies from ${Math.min(...steps).toFixed(2)} to ${Math.max(...steps).toFixed(2)} mm (median ${sliceSpacingMm.toFixed(2)} mm).`,
      });
    }
  }
  // Tilted gantries shift each slice within its own plane; a stack whose in-plane origin drifts
  // in proportion to its offset along the normal is tilted even when GantryDetectorTilt is absent.
  let gantryTiltDeg = Math.abs(instances.find((i) => i.gantryDetectorTilt !== undefined)?.gantryDetectorTilt ?? 0);
  const extent = offsetsMm[offsetsMm.length - 1] - offsetsMm[0];
  if (extent > 0 && inPlaneSpread > 0 && duplicates === 0) {
    const driftDeg = (Math.atan(inPlaneSpread / extent) * 180) / Math.PI;
    if (driftDeg > 0.5) gantryTiltDeg = Math.max(gantryTiltDeg, driftDeg);
  }
  if (gantryTiltDeg > 0.5) {
    issues.push({ kind: 'gantry-tilt', message: `The stack is tilted by ${gantryTiltDeg.toFixed(1)}° (gantry tilt): slices are sheared, not orthogonal.` });
  }
  return { ordered, offsetsMm, row, column, normal, sliceSpacingMm, gantryTiltDeg, issues };
}
