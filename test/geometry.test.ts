import assert from 'node:assert/strict';
import { analyzeStack, planeOf, tiltFromAxialDeg } from '../src/dicom/geometry.ts';
import { PADDING_HU, paddingInStoredRange, storedToHounsfield } from '../src/dicom/hu.ts';
import { groupIntoSeries, summarizeSeries } from '../src/dicom/series.ts';
import { planVolume } from '../src/dicom/volume.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { isCtMuscleError } from '../src/errors.ts';

type Iop = [number, number, number, number, number, number];
const HFS: Iop = [1, 0, 0, 0, 1, 0];
const FFS: Iop = [-1, 0, 0, 0, 1, 0];

function header(n: number, ipp: [number, number, number], iop: Iop = HFS, extra: Partial<InstanceHeader> = {}): InstanceHeader {
  return {
    source: { kind: 'memory', bytes: new Uint8Array(), label: `#${n}` },
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    sopInstanceUid: `2.25.${n}`,
    studyInstanceUid: '2.25.1000',
    seriesInstanceUid: '2.25.2000',
    modality: 'CT',
    imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    convolutionKernel: [],
    softwareVersions: [],
    rows: 64,
    columns: 64,
    imagePositionPatient: ipp,
    imageOrientationPatient: iop,
    pixelSpacing: [0.8, 0.8],
    sliceThickness: 2,
    instanceNumber: n,
    numberOfFrames: 1,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    pixelAttributes: {},
    hasPixelData: true,
    dataset: {},
    ...extra,
  };
}

/** Instance numbers that run against z, in a shuffled arrival order, as real series do. */
function stack(zs: number[], iop: Iop = HFS): InstanceHeader[] {
  const list = zs.map((z, k) => header(zs.length - k, [-200, -180, z], iop));
  return [list[3], list[0], ...list.slice(4), list[2], list[1]].filter(Boolean);
}

const kinds = (issues: { kind: string }[]) => issues.map((i) => i.kind).sort();

describe('stack geometry', () => {
  it('orders by position along the normal, never by InstanceNumber or arrival', () => {
    const plan = planVolume(groupIntoSeries(stack([10, 12, 14, 16, 18, 20]))[0]);
    assert.deepEqual(plan.ordered.map((h) => h.imagePositionPatient![2]), [10, 12, 14, 16, 18, 20]);
    assert.equal(plan.geometry.sliceSpacingMm, 2);
    assert.equal(plan.geometry.plane, 'axial');
  });

  it('orders feet-first stacks (normal pointing to the feet) inferior → superior too', () => {
    const plan = planVolume(groupIntoSeries(stack([10, 12, 14, 16, 18, 20], FFS))[0]);
    assert.deepEqual(plan.geometry.normal.map((v) => Math.round(v) + 0), [0, 0, -1]);
    assert.deepEqual(plan.ordered.map((h) => h.imagePositionPatient![2]), [10, 12, 14, 16, 18, 20]);
  });

  it('accepts orientation cosines that differ by rounding, and rejects a real difference', () => {
    const headers = stack([0, 2, 4, 6]);
    headers[1] = { ...headers[1], imageOrientationPatient: [0.99999, 0.0001, 0, -0.0001, 0.99999, 0.002] };
    assert.deepEqual(analyzeStack(headers)!.issues, []);
    headers[2] = { ...headers[2], imageOrientationPatient: [0.996, 0.0872, 0, -0.0872, 0.996, 0] };
    assert.deepEqual(kinds(analyzeStack(headers)!.issues), ['mixed-orientation']);
    assert.throws(() => planVolume(groupIntoSeries(headers)[0]), (e: unknown) => isCtMuscleError(e) && e.code === 'E_INCONSISTENT_GEOMETRY');
  });

  it('reports gaps and irregular spacing without refusing the volume', () => {
    assert.deepEqual(kinds(analyzeStack(stack([0, 2, 4, 10, 12, 14]))!.issues), ['gap']);
    assert.deepEqual(kinds(analyzeStack(stack([0, 2, 4, 6.6, 8.6, 10.6]))!.issues), ['irregular-spacing']);
    assert.equal(planVolume(groupIntoSeries(stack([0, 2, 4, 10, 12, 14]))[0]).ordered.length, 6);
  });

  it('detects gantry tilt from GantryDetectorTilt and from in-plane drift', () => {
    const tagged = stack([0, 2, 4, 6]).map((h) => ({ ...h, gantryDetectorTilt: 15 }));
    assert.deepEqual(kinds(analyzeStack(tagged)!.issues), ['gantry-tilt']);
    const drifting = [0, 2, 4, 6].map((z, k) => header(k + 1, [-200, -180 + z * Math.tan((12 * Math.PI) / 180), z]));
    const analysis = analyzeStack(drifting)!;
    assert.deepEqual(kinds(analysis.issues), ['gantry-tilt']);
    assert.ok(Math.abs(analysis.gantryTiltDeg - 12) < 0.5);
  });

  it('refuses two stacks at the same positions and duplicated positions', () => {
    const twice = [...stack([0, 2, 4]), ...stack([0, 2, 4]).map((h) => ({ ...h, sopInstanceUid: `${h.sopInstanceUid}.2` }))];
    assert.deepEqual(kinds(analyzeStack(twice)!.issues), ['several-stacks']);
    const oneRepeated = [...stack([0, 2, 4, 6]), { ...header(99, [-200, -180, 2]) }];
    assert.deepEqual(kinds(analyzeStack(oneRepeated)!.issues), ['duplicate-position']);
    for (const headers of [twice, oneRepeated]) {
      assert.throws(() => planVolume(groupIntoSeries(headers)[0]), (e: unknown) => isCtMuscleError(e) && e.code === 'E_INCONSISTENT_GEOMETRY');
    }
  });

  it('reports mixed matrix sizes and pixel spacings', () => {
    const headers = stack([0, 2, 4, 6]);
    headers[0] = { ...headers[0], rows: 128, columns: 128 };
    headers[1] = { ...headers[1], pixelSpacing: [0.7, 0.7] };
    assert.deepEqual(kinds(analyzeStack(headers)!.issues), ['mixed-pixel-spacing', 'mixed-size']);
  });

  it('labels planes and tilt', () => {
    assert.equal(planeOf([0, 0, 1]), 'axial');
    assert.equal(planeOf([0, 0, -1]), 'axial');
    assert.equal(planeOf([0, 1, 0]), 'coronal');
    assert.equal(planeOf([1, 0, 0]), 'sagittal');
    assert.equal(planeOf([0.6, 0, 0.8]), 'oblique');
    assert.ok(Math.abs(tiltFromAxialDeg([0, Math.sin(0.2), Math.cos(0.2)]) - (0.2 * 180) / Math.PI) < 1e-9);
  });

  it('summarises a series for selection from headers alone', () => {
    const summary = summarizeSeries(groupIntoSeries(stack([0, 2, 4, 6]))[0]);
    assert.equal(summary.instanceCount, 4);
    assert.equal(summary.plane, 'axial');
    assert.deepEqual(summary.zRangeMm, [0, 6]);
    assert.equal(summary.sliceSpacingMm, 2);
    assert.equal(summary.sliceThicknessMm, 2);
  });
});

describe('stored values → HU', () => {
  it('applies slope and intercept for unsigned and signed storage alike', () => {
    const out = new Int16Array(3);
    storedToHounsfield(Uint16Array.from([0, 1024, 2024]), { slope: 1, intercept: -1024 }, out, 0);
    assert.deepEqual([...out], [-1024, 0, 1000]);
    storedToHounsfield(Int16Array.from([-1024, 0, 1000]), { slope: 1, intercept: 0 }, out, 0);
    assert.deepEqual([...out], [-1024, 0, 1000]);
    storedToHounsfield(Int16Array.from([10, 11]), { slope: 0.5, intercept: -3 }, out, 1);
    assert.deepEqual([...out], [-1024, 2, 3]);
  });

  it('maps PixelPaddingValue (and a padding range) to air before rescaling', () => {
    const out = new Int16Array(4);
    storedToHounsfield(Int32Array.from([-2000, -1999, 0, 40]), { slope: 1, intercept: 0, padding: { value: -2000 } }, out, 0);
    assert.deepEqual([...out], [PADDING_HU, -1999, 0, 40]);
    storedToHounsfield(Int32Array.from([0, 5, 10, 40]), { slope: 1, intercept: -1024, padding: { value: 0, rangeLimit: 10 } }, out, 0);
    assert.deepEqual([...out], [PADDING_HU, PADDING_HU, PADDING_HU, -984]);
  });

  it('reads a padding value that a reader took as US for a signed image', () => {
    assert.equal(paddingInStoredRange(63536, 1, 16), -2000);
    assert.equal(paddingInStoredRange(63536, 0, 16), 63536);
  });

  it('clamps to the Int16 range', () => {
    const out = new Int16Array(2);
    storedToHounsfield(Int32Array.from([40000, -40000]), { slope: 1, intercept: 0 }, out, 0);
    assert.deepEqual([...out], [32767, -32768]);
  });
});
