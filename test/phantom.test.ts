/**
 * The CT phantom: options, determinism, anatomy (HU, levels, ribs, muscle truth), geometry across
 * patient positions, and the DICOM it writes (dciodvfy-clean, readable by dcmtk, pixel-exact in
 * every transfer syntax).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { isCtMuscleError } from '../src/errors.ts';
import {
  decodeMaskRle,
  generatePhantomSlices,
  generatePhantomStudy,
  planPhantom,
  renderLabels,
  renderPhantomSlice,
  sectionAt,
  tissueAt,
  TISSUE,
  TISSUE_NAMES,
  VERTEBRA_NAMES,
  writePhantomStudy,
  PHANTOM_TRANSFER_SYNTAXES as TS,
  type PhantomOptions,
  type PhantomPlan,
  type PhantomSlice,
} from '../src/phantom/index.ts';
import { hasCommand, makeTempDir, requireCommands, run } from './support/env.ts';

dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

interface ParsedFile {
  dataset: Record<string, unknown>;
  syntax: string;
}

function parse(bytes: Uint8Array): ParsedFile {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const dict = dcmjs.data.DicomMessage.readFile(buffer);
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.meta);
  return { dataset: dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict), syntax: String(meta.TransferSyntaxUID) };
}

function numbers(value: unknown): number[] {
  return (Array.isArray(value) ? value : [value]).map(Number);
}

/** Native little-endian pixel data of a parsed file as stored integers. */
function nativeStored(parsed: ParsedFile): Int16Array | Uint16Array {
  const buffer = (parsed.dataset.PixelData as ArrayBuffer[])[0];
  return Number(parsed.dataset.PixelRepresentation) === 1 ? new Int16Array(buffer.slice(0)) : new Uint16Array(buffer.slice(0));
}

/** HU at a patient point (LPS mm) of an axial slice, found through its ImagePositionPatient/ImageOrientationPatient. */
function huAtPatientPoint(parsed: ParsedFile, stored: ArrayLike<number>, point: [number, number, number]): number {
  const ds = parsed.dataset;
  const ipp = numbers(ds.ImagePositionPatient);
  const iop = numbers(ds.ImageOrientationPatient);
  const [rowSpacing, columnSpacing] = numbers(ds.PixelSpacing);
  const d = [point[0] - ipp[0], point[1] - ipp[1], point[2] - ipp[2]];
  const column = Math.round((d[0] * iop[0] + d[1] * iop[1] + d[2] * iop[2]) / columnSpacing);
  const row = Math.round((d[0] * iop[3] + d[1] * iop[4] + d[2] * iop[5]) / rowSpacing);
  const columns = Number(ds.Columns);
  assert.ok(row >= 0 && row < Number(ds.Rows) && column >= 0 && column < columns, `point ${point} falls outside the image`);
  return stored[row * columns + column] * Number(ds.RescaleSlope) + Number(ds.RescaleIntercept);
}

function expectPhantomError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isCtMuscleError(error), `expected CtMuscleError, got ${String(error)}`);
    assert.equal(error.code, 'E_PHANTOM_OPTIONS');
    assert.match(error.message, pattern);
    return true;
  });
}

/** The slice at the mid-body of a vertebra, on a plan that starts there. */
function sliceAtLevel(level: (typeof VERTEBRA_NAMES)[number], options: PhantomOptions = {}): { plan: PhantomPlan; slice: PhantomSlice } {
  const plan = planPhantom({ fromLevel: level, sliceCount: 1, ...options });
  return { plan, slice: renderPhantomSlice(plan, 0) };
}

const SPINE_BONE = new Set<number>([TISSUE.BONE_CORTICAL, TISSUE.BONE_CANCELLOUS, TISSUE.BONE_ENDPLATE, TISSUE.BONE_POSTERIOR]);
const RIB_BONE = new Set<number>([TISSUE.RIB_CORTEX, TISSUE.RIB_MARROW]);

/** Does rib bone touch spine bone (4-neighbourhood) anywhere in this label image? */
function ribMeetsSpine(labels: Uint8Array, nx: number, ny: number): boolean {
  for (let r = 1; r < ny - 1; r++) {
    for (let c = 1; c < nx - 1; c++) {
      const i = r * nx + c;
      if (!RIB_BONE.has(labels[i])) continue;
      if (SPINE_BONE.has(labels[i - 1]) || SPINE_BONE.has(labels[i + 1]) || SPINE_BONE.has(labels[i - nx]) || SPINE_BONE.has(labels[i + nx])) return true;
    }
  }
  return false;
}

/** Which vertebrae have a rib touching them, scanning each body at 1 mm steps. */
function vertebraeMetByRibs(plan: PhantomPlan): string[] {
  const grid = plan.layout.grid;
  const labels = new Uint8Array(grid.nx * grid.ny);
  const met: string[] = [];
  for (const v of plan.anatomy.spine.vertebrae) {
    for (let z = v.inferiorMm + 0.5; z < v.superiorMm; z += 1) {
      renderLabels(plan.anatomy, z, grid, labels);
      if (ribMeetsSpine(labels, grid.nx, grid.ny)) {
        met.push(v.name);
        break;
      }
    }
  }
  return met;
}

describe('CT phantom', function () {
  describe('options', () => {
    it('rejects unknown and invalid options with E_PHANTOM_OPTIONS', () => {
      expectPhantomError(() => planPhantom({ rowz: 3 } as unknown as PhantomOptions), /Unknown phantom option\(s\) rowz/);
      expectPhantomError(() => planPhantom({ rows: 20 }), /rows must be an integer from 64/);
      expectPhantomError(() => planPhantom({ ribPairs: 14 as 12 }), /ribPairs must be one of 11, 12, 13/);
      expectPhantomError(() => planPhantom({ orientation: 'LFS' as 'HFS' }), /orientation/);
      expectPhantomError(() => planPhantom({ toLevel: 'T9', sliceCount: 10 }), /toLevel or sliceCount, not both/);
      expectPhantomError(() => planPhantom({ fromLevel: 'T9', toLevel: 'L3' }), /must be at or above fromLevel/);
      expectPhantomError(() => planPhantom({ fromLevel: 'C7' as 'T1' }), /fromLevel must be a vertebra/);
      expectPhantomError(() => planPhantom({ patient: { height: 3 } }), /patient.height/);
      expectPhantomError(() => planPhantom({ storage: 'unsigned', pixelPaddingValue: -2000 }), /pixelPaddingValue \(unsigned storage\)/);
    });

    it('names the supported transfer syntaxes when asked for another', () => {
      expectPhantomError(() => planPhantom({ transferSyntaxUid: '1.2.840.10008.1.2.5' }), /1\.2\.840\.10008\.1\.2\.4\.90/);
    });

    it('defaults to 256×256, 400 mm field, 2.5 mm slices from mid-L3 up to T9', () => {
      const plan = planPhantom();
      const { truth } = plan;
      assert.equal(truth.rows, 256);
      assert.deepEqual(truth.pixelSpacingMm, [400 / 256, 400 / 256]);
      assert.equal(truth.sliceSpacingMm, 2.5);
      const mid = (name: string) => truth.vertebrae.find((v) => v.name === name)!.midBodyMm;
      assert.ok(Math.abs(truth.zRangeMm[0] - mid('L3')) < 0.01, 'first slice at mid-L3');
      assert.ok(truth.zRangeMm[1] <= mid('T9') && truth.zRangeMm[1] > mid('T9') - 2.5, 'last slice just below mid-T9');
      assert.ok(truth.sliceCount > 60 && truth.sliceCount < 100, `slice count ${truth.sliceCount}`);
    });
  });

  describe('speed', () => {
    it('generates a 256×256×120 series in well under ten seconds', () => {
      const started = performance.now();
      let slices = 0;
      for (const slice of generatePhantomSlices({ sliceCount: 120 })) slices += slice.hu.length > 0 ? 1 : 0;
      const seconds = (performance.now() - started) / 1000;
      assert.equal(slices, 120);
      // About 0.5 s on a laptop core; the bound only catches a per-pixel slowdown.
      assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);
    });
  });

  describe('determinism', () => {
    it('gives byte-identical files for equal options and different noise for another seed', async () => {
      const options: PhantomOptions = { fromLevel: 'T12', sliceCount: 3 };
      const a = await generatePhantomStudy(options);
      const b = await generatePhantomStudy({ ...options });
      assert.equal(a.files.length, 3);
      for (let k = 0; k < a.files.length; k++) assert.deepEqual(a.files[k].bytes, b.files[k].bytes, `file ${k} differs between runs`);
      assert.deepEqual(a.truth, b.truth);

      const c = await generatePhantomStudy({ ...options, seed: 2 });
      assert.notEqual(c.truth.seriesInstanceUid, a.truth.seriesInstanceUid);
      const pa = nativeStored(parse(a.files[1].bytes));
      const pc = nativeStored(parse(c.files[1].bytes));
      let differing = 0;
      for (let i = 0; i < pa.length; i++) if (pa[i] !== pc[i]) differing++;
      assert.ok(differing > pa.length / 4, `only ${differing} pixels differ between seeds`);
    });

    it('noise is seeded per slice height: the same slice comes out the same in a longer series', () => {
      const short = [...generatePhantomSlices({ fromLevel: 'L1', sliceCount: 2 })];
      const long = [...generatePhantomSlices({ fromLevel: 'L1', sliceCount: 5 })];
      const pick = (slices: PhantomSlice[], index: number) => slices.find((s) => s.index === index)!;
      assert.deepEqual(pick(short, 1).hu, pick(long, 1).hu);
      assert.ok(Math.abs(pick(long, 1).zMm - pick(short, 1).zMm) < 1e-9);
    });
  });

  describe('anatomy', () => {
    it('puts plausible tissue and HU at known points', () => {
      const checks: Array<{ level: (typeof VERTEBRA_NAMES)[number]; what: string; point: (plan: PhantomPlan) => [number, number]; label: number; hu: [number, number] }> = [
        { level: 'T12', what: 'vertebral body centre', point: (p) => at(p, (s) => [s.midX, s.spine.bodyY]), label: TISSUE.BONE_CANCELLOUS, hu: [150, 350] },
        { level: 'T12', what: 'spinal canal (cord)', point: (p) => at(p, (s) => [s.midX, s.spine.canalY - 0.5]), label: TISSUE.CORD, hu: [-15, 85] },
        { level: 'L3', what: 'cauda equina CSF', point: (p) => at(p, (s) => [s.midX, s.spine.canalY - 0.5]), label: TISSUE.CSF, hu: [-40, 60] },
        { level: 'L3', what: 'left psoas', point: (p) => at(p, (s) => [s.midX + s.spine.bodyRx + 14, s.spine.bodyY - 8]), label: TISSUE.MUSCLE_PSOAS, hu: [0, 100] },
        { level: 'L3', what: 'anterior subcutaneous fat', point: (p) => at(p, (s) => [s.midX, s.muscle.cy - (s.muscle.ryAnt + s.fat.ryAnt) / 2]), label: TISSUE.FAT_SUBCUTANEOUS, hu: [-190, -30] },
        { level: 'L3', what: 'anterior skin', point: (p) => at(p, (s) => [s.midX, s.muscle.cy - s.skin.ryAnt + 1.2]), label: TISSUE.SKIN, hu: [-10, 100] },
        { level: 'L3', what: 'rectus abdominis', point: (p) => at(p, (s) => [s.midX + 30, s.muscle.cy - (s.muscle.ryAnt + s.cavity.ryAnt) / 2]), label: TISSUE.MUSCLE_WALL, hu: [0, 100] },
        { level: 'L3', what: 'air outside', point: () => [0, -190], label: TISSUE.AIR, hu: [-1024, -900] },
        { level: 'T9', what: 'right lung (lateral)', point: (p) => at(p, (s) => [s.midX - s.cavity.rx * 0.6, s.muscle.cy + 10]), label: TISSUE.LUNG, hu: [-950, -750] },
        { level: 'T12', what: 'liver (right upper abdomen)', point: (p) => at(p, (s) => [s.midX - 60, s.muscle.cy]), label: TISSUE.LIVER, hu: [5, 105] },
      ];
      function at(plan: PhantomPlan, f: (s: ReturnType<typeof sectionAt>) => [number, number]): [number, number] {
        return f(sectionAt(plan.anatomy, plan.slices[0].zMm));
      }
      for (const check of checks) {
        const plan = planPhantom({ fromLevel: check.level, sliceCount: 1 });
        const [x, y] = check.point(plan);
        const z = plan.slices[0].zMm;
        const label = tissueAt(plan.anatomy, x, y, z);
        assert.equal(TISSUE_NAMES[label], TISSUE_NAMES[check.label], `${check.what} at (${x.toFixed(1)}, ${y.toFixed(1)}, ${z})`);
        const slice = renderPhantomSlice(plan, 0);
        const parsed = { dataset: { ImagePositionPatient: slice.imagePositionPatient, ImageOrientationPatient: slice.imageOrientationPatient, PixelSpacing: slice.pixelSpacingMm, Rows: slice.rows, Columns: slice.columns, RescaleSlope: 1, RescaleIntercept: 0 } as Record<string, unknown>, syntax: '' };
        const hu = huAtPatientPoint(parsed, slice.hu, [x, y, z]);
        assert.ok(hu >= check.hu[0] && hu <= check.hu[1], `${check.what}: ${hu} HU outside [${check.hu}]`);
      }
      // Between the bodies: disc, in the middle of the T12/L1 disc.
      const plan = planPhantom({ sliceCount: 1 });
      const disc = plan.anatomy.spine.discs.find((d) => d.above === 'T12')!;
      const zDisc = (disc.inferiorMm + disc.superiorMm) / 2;
      const section = sectionAt(plan.anatomy, zDisc);
      assert.equal(TISSUE_NAMES[tissueAt(plan.anatomy, section.midX, section.spine.bodyY, zDisc)], 'DISC');
      assert.ok(plan.huTable[TISSUE.DISC] >= 80 && plan.huTable[TISSUE.DISC] <= 100);
    });

    it('gives each tissue class its HU on average, with noise of about noiseSd', () => {
      const { slice } = sliceAtLevel('L1', { contrast: false });
      const sums = new Map<number, { n: number; sum: number; sq: number }>();
      for (let i = 0; i < slice.hu.length; i++) {
        const entry = sums.get(slice.labels[i]) ?? { n: 0, sum: 0, sq: 0 };
        entry.n++;
        entry.sum += slice.hu[i];
        entry.sq += slice.hu[i] * slice.hu[i];
        sums.set(slice.labels[i], entry);
      }
      const mean = (label: number) => sums.get(label)!.sum / sums.get(label)!.n;
      const sd = (label: number) => Math.sqrt(sums.get(label)!.sq / sums.get(label)!.n - mean(label) ** 2);
      const within = (label: number, lo: number, hi: number) => {
        assert.ok(sums.has(label), `${TISSUE_NAMES[label]} absent at L1`);
        assert.ok(mean(label) >= lo && mean(label) <= hi, `${TISSUE_NAMES[label]} mean ${mean(label).toFixed(1)} outside [${lo}, ${hi}]`);
      };
      within(TISSUE.MUSCLE_PARASPINAL, 30, 60);
      within(TISSUE.MUSCLE_WALL, 30, 60);
      within(TISSUE.FAT_SUBCUTANEOUS, -190, -30);
      within(TISSUE.FAT_VISCERAL, -150, -50);
      within(TISSUE.BONE_CANCELLOUS, 200, 300);
      within(TISSUE.LIVER, 40, 70);
      within(TISSUE.KIDNEY, 20, 50);
      within(TISSUE.AORTA, 30, 50);
      assert.ok(sd(TISSUE.FAT_SUBCUTANEOUS) > 8 && sd(TISSUE.FAT_SUBCUTANEOUS) < 16, `fat SD ${sd(TISSUE.FAT_SUBCUTANEOUS)}`);

      const enhanced = sliceAtLevel('L1', { contrast: true }).slice;
      const meanOf = (s: PhantomSlice, label: number) => {
        let sum = 0;
        let n = 0;
        for (let i = 0; i < s.hu.length; i++) {
          if (s.labels[i] !== label) continue;
          sum += s.hu[i];
          n++;
        }
        return sum / n;
      };
      assert.ok(meanOf(enhanced, TISSUE.AORTA) > 170, 'aorta enhances with contrast');
      assert.ok(meanOf(enhanced, TISSUE.LIVER) > 85, 'liver enhances with contrast');
    });

    it('orders vertebrae inferior to superior without overlap, a disc between each pair, heights growing down the spine', () => {
      const { vertebrae, discs } = planPhantom({ sliceCount: 1 }).truth;
      assert.deepEqual(vertebrae.map((v) => v.name), [...VERTEBRA_NAMES]);
      for (let k = 0; k < vertebrae.length; k++) {
        const v = vertebrae[k];
        assert.ok(v.bodySuperiorMm > v.midBodyMm && v.midBodyMm > v.bodyInferiorMm, `${v.name} range`);
        if (k + 1 < vertebrae.length) {
          const below = vertebrae[k + 1];
          const disc = discs[k];
          assert.equal(disc.above, v.name);
          assert.equal(disc.below, below.name);
          assert.equal(disc.superiorMm, v.bodyInferiorMm);
          assert.equal(disc.inferiorMm, below.bodySuperiorMm);
          const height = disc.superiorMm - disc.inferiorMm;
          assert.ok(height >= 3.5 && height <= 11, `${disc.above}/${disc.below} disc ${height.toFixed(1)} mm`);
        }
      }
      const height = (name: string) => {
        const v = vertebrae.find((x) => x.name === name)!;
        return v.bodySuperiorMm - v.bodyInferiorMm;
      };
      assert.ok(height('T1') > 13 && height('T1') < 17, `T1 ${height('T1')}`);
      assert.ok(height('L5') > 25 && height('L5') < 31, `L5 ${height('L5')}`);
      assert.ok(height('T12') < height('L3'));
      const t12 = vertebrae.find((v) => v.name === 'T12')!;
      assert.ok(t12.midBodyMm < -300 && t12.midBodyMm > -550, `T12 mid ${t12.midBodyMm}`);
    });

    it('labels slices by the spine structure they cut: bodies and discs alternate', () => {
      const levels = [...generatePhantomSlices({ fromLevel: 'L2', toLevel: 'T11', noiseSd: 0, rows: 64, columns: 64, fieldOfViewMm: 400 })]
        .sort((a, b) => a.index - b.index)
        .map((s) => s.spineLevel);
      const compact = levels.filter((l, k) => k === 0 || l !== levels[k - 1]);
      assert.deepEqual(compact, ['L2', 'L1/L2', 'L1', 'T12/L1', 'T12', 'T11/T12', 'T11']);
    });

    it('attaches ribs only to rib-bearing vertebrae: T1–T12 normally, T1–T11 with 11 pairs, T1–L1 with 13', () => {
      const expected: Record<number, string> = { 11: 'T11', 12: 'T12', 13: 'L1' };
      for (const ribPairs of [12, 11, 13] as const) {
        const plan = planPhantom({ ribPairs, rows: 128, columns: 128, sliceCount: 1 });
        const bearing = plan.truth.vertebrae.filter((v) => v.bearsRibs).map((v) => v.name);
        assert.deepEqual(bearing, VERTEBRA_NAMES.slice(0, ribPairs));
        assert.equal(plan.truth.lowestRibBearing, expected[ribPairs]);
        assert.deepEqual(vertebraeMetByRibs(plan), bearing, `${ribPairs} pairs: vertebrae with a rib touching them`);
      }
    });

    it('keeps the spine where it is when only the rib count changes', () => {
      const a = planPhantom({ ribPairs: 12, sliceCount: 1 }).truth.vertebrae;
      const b = planPhantom({ ribPairs: 13, sliceCount: 1 }).truth.vertebrae;
      assert.deepEqual(a.map((v) => [v.name, v.bodyInferiorMm, v.bodySuperiorMm]), b.map((v) => [v.name, v.bodyInferiorMm, v.bodySuperiorMm]));
    });
  });

  describe('muscle truth', () => {
    it('covers trunk muscle only: arms change the image but not the mask', () => {
      const fov = { fieldOfViewMm: 500 };
      const without = sliceAtLevel('L1', { ...fov, arms: false }).slice;
      const withArms = sliceAtLevel('L1', { ...fov, arms: true }).slice;
      let armPixels = 0;
      for (let i = 0; i < withArms.labels.length; i++) {
        if (withArms.labels[i] === TISSUE.MUSCLE_ARM) {
          armPixels++;
          assert.equal(withArms.muscleMask[i], 0, 'arm muscle in the truth mask');
        }
      }
      assert.ok(armPixels > 500, `only ${armPixels} arm-muscle pixels`);
      assert.deepEqual(withArms.muscleMask, without.muscleMask);
      assert.equal(withArms.muscleAreaCm2, without.muscleAreaCm2);
    });

    it('excludes intramuscular fat and counts the area from the mask', () => {
      const { slice } = sliceAtLevel('L3');
      let count = 0;
      let imat = 0;
      for (let i = 0; i < slice.muscleMask.length; i++) {
        count += slice.muscleMask[i];
        if (slice.labels[i] === TISSUE.FAT_INTRAMUSCULAR) {
          imat++;
          assert.equal(slice.muscleMask[i], 0);
        }
      }
      assert.ok(imat > 0, 'no intramuscular fat at L3');
      const area = (count * slice.pixelSpacingMm[0] * slice.pixelSpacingMm[1]) / 100;
      assert.ok(Math.abs(area - slice.muscleAreaCm2) < 1e-3);
      assert.ok(area > 80 && area < 220, `L3 muscle area ${area.toFixed(1)} cm²`);
    });
  });

  describe('T12 truth', () => {
    it('points at the slice nearest the T12 mid-body, by index, instance number and UID', async () => {
      for (const orientation of ['HFS', 'FFS'] as const) {
        const { files, truth } = await generatePhantomStudy({ fromLevel: 'L1', toLevel: 'T11', orientation, noiseSd: 0 });
        const t12 = truth.t12;
        assert.notEqual(t12.sliceIndex, null);
        const slice = truth.slices[t12.sliceIndex!];
        assert.ok(Math.abs(slice.zMm - t12.midBodyMm) <= truth.sliceSpacingMm / 2 + 1e-9);
        for (const other of truth.slices) assert.ok(Math.abs(other.zMm - t12.midBodyMm) >= Math.abs(slice.zMm - t12.midBodyMm) - 1e-9);
        assert.equal(t12.sopInstanceUid, slice.sopInstanceUid);
        assert.equal(t12.instanceNumber, slice.instanceNumber);
        assert.equal(t12.zMm, slice.zMm);
        const file = files.find((f) => f.fileName === slice.fileName)!;
        const ds = parse(file.bytes).dataset;
        assert.equal(ds.SOPInstanceUID, t12.sopInstanceUid);
        assert.equal(Number(ds.InstanceNumber), t12.instanceNumber);
        assert.ok(Math.abs(numbers(ds.ImagePositionPatient)[2] - t12.zMm!) < 1e-6);
        // Head-first series number instances from the head down, feet-first from the feet up.
        const first = parse(files[0].bytes).dataset;
        const last = parse(files[files.length - 1].bytes).dataset;
        assert.equal(Number(first.InstanceNumber), 1);
        const zFirst = numbers(first.ImagePositionPatient)[2];
        const zLast = numbers(last.ImagePositionPatient)[2];
        assert.ok(orientation === 'HFS' ? zFirst > zLast : zFirst < zLast, `${orientation}: acquisition order`);
        const mask = decodeMaskRle(t12.muscleMask!);
        let count = 0;
        for (const v of mask) count += v;
        assert.ok(Math.abs((count * truth.pixelSpacingMm[0] * truth.pixelSpacingMm[1]) / 100 - t12.muscleAreaCm2!) < 1e-3);
        assert.equal(slice.muscleAreaCm2, t12.muscleAreaCm2);
      }
    });

    it('says null when the series does not reach T12', () => {
      const { t12 } = planPhantom({ fromLevel: 'L3', toLevel: 'L1' }).truth;
      assert.equal(t12.sliceIndex, null);
      assert.equal(t12.sopInstanceUid, null);
      assert.equal(t12.muscleAreaCm2, null);
      assert.ok(t12.midBodyMm > t12.bodyInferiorMm);
    });
  });

  describe('patient position', () => {
    const positions = ['HFS', 'FFS', 'HFP', 'FFP'] as const;
    const expectedIop: Record<(typeof positions)[number], number[]> = {
      HFS: [1, 0, 0, 0, 1, 0],
      FFS: [-1, 0, 0, 0, 1, 0],
      HFP: [-1, 0, 0, 0, -1, 0],
      FFP: [1, 0, 0, 0, -1, 0],
    };

    it('writes each position’s orientation and shows the same anatomy at the same patient point', async () => {
      const parsed: Record<string, { file: ParsedFile; stored: Int16Array | Uint16Array }> = {};
      for (const orientation of positions) {
        const { files } = await generatePhantomStudy({ fromLevel: 'T12', sliceCount: 1, orientation, table: false });
        const file = parse(files[0].bytes);
        assert.deepEqual(numbers(file.dataset.ImageOrientationPatient), expectedIop[orientation]);
        assert.equal(file.dataset.PatientPosition, orientation);
        parsed[orientation] = { file, stored: nativeStored(file) };
      }
      const plan = planPhantom({ fromLevel: 'T12', sliceCount: 1 });
      const z = plan.slices[0].zMm;
      let compared = 0;
      for (let y = -180; y <= 180; y += 7.8125) {
        for (let x = -180; x <= 180; x += 7.8125) {
          const reference = huAtPatientPoint(parsed.HFS.file, parsed.HFS.stored, [x, y, z]);
          for (const orientation of positions) {
            assert.equal(huAtPatientPoint(parsed[orientation].file, parsed[orientation].stored, [x, y, z]), reference, `${orientation} at (${x}, ${y})`);
          }
          compared++;
        }
      }
      assert.ok(compared > 2000);
    });

    it('puts the table behind a supine patient and in front of a prone one, outside the body', () => {
      for (const orientation of positions) {
        const { slice, plan } = sliceAtLevel('L1', { orientation });
        const section = sectionAt(plan.anatomy, slice.zMm);
        const ys: number[] = [];
        const { grid } = plan.layout;
        for (let r = 0; r < grid.ny; r++) {
          for (let c = 0; c < grid.nx; c++) {
            const label = slice.labels[r * grid.nx + c];
            // Along the midline, where the patient lies on it (the cradle's edges rise beside the body).
            if ((label === TISSUE.TABLE_SHELL || label === TISSUE.TABLE_CORE) && Math.abs(grid.x0 + c * grid.dx - section.midX) < 40) ys.push(grid.y0 + r * grid.dy);
          }
        }
        assert.ok(ys.length > 100, `${orientation}: no table`);
        const prone = orientation.endsWith('P');
        const back = section.skin.cy + section.skin.ryPost;
        const front = section.skin.cy - section.skin.ryAnt;
        if (prone) assert.ok(Math.max(...ys) < front, `${orientation}: table must be anterior`);
        else assert.ok(Math.min(...ys) > back, `${orientation}: table must be posterior`);
      }
    });
  });

  describe('DICOM', function () {
    let tmp: ReturnType<typeof makeTempDir>;
    const syntaxes = Object.entries(TS);
    const written: Record<string, { dir: string; files: string[] }> = {};
    let reference: Int16Array;

    before(async function () {
      tmp = makeTempDir('ctmn-phantom-');
      for (const [name, uid] of syntaxes) {
        const dir = join(tmp.path, name);
        const result = await writePhantomStudy(dir, { fromLevel: 'T12', sliceCount: 2, transferSyntaxUid: uid, pixelPaddingValue: -2000 });
        written[name] = { dir, files: result.files };
      }
      reference = renderPhantomSlice(planPhantom({ fromLevel: 'T12', sliceCount: 2, pixelPaddingValue: -2000 }), 1).hu;
    });

    after(() => tmp?.remove());

    it('dciodvfy reports no errors in any transfer syntax', function () {
      requireCommands(this, 'dciodvfy', 'dcmconv');
      for (const [name, { files }] of Object.entries(written)) {
        for (const file of files) {
          let target = file;
          if (name === 'deflatedExplicitVrLittleEndian') {
            // dicom3tools is built without zlib here: check the inflated dataset instead.
            target = `${file}.inflated.dcm`;
            run('dcmconv', ['+te', file, target]);
          }
          const result = spawnText('dciodvfy', [target]);
          const errors = result.split('\n').filter((line) => /^\s*Error/.test(line));
          assert.deepEqual(errors, [], `${name}: ${target}\n${result}`);
          assert.match(result, /CTImage/);
        }
      }
    });

    it('dcmdump reads every syntax to the end of PixelData', function () {
      requireCommands(this, 'dcmdump');
      for (const [name, { files }] of Object.entries(written)) {
        const out = run('dcmdump', ['-E', files[0]]);
        const encapsulated = name === 'jpeg2000Lossless' || name === 'jpegLsLossless';
        assert.match(out, encapsulated ? /\(7fe0,0010\) OB \(PixelSequence #=2\)/ : /\(7fe0,0010\) OW /, `${name}: PixelData`);
        assert.match(out, /CTImageStorage/);
      }
    });

    it('stores the same pixels in every syntax (big endian swapped, deflate inflated, codestreams lossless)', async function () {
      const compare = (name: string, values: ArrayLike<number>, intercept = 0) => {
        assert.equal(values.length, reference.length, name);
        for (let i = 0; i < reference.length; i++) {
          if (values[i] + intercept !== reference[i]) assert.fail(`${name}: pixel ${i} is ${values[i] + intercept}, expected ${reference[i]}`);
        }
      };
      const little = parse(readFileSync(written.explicitVrLittleEndian.files[0]));
      compare('explicit LE', nativeStored(little));
      compare('implicit LE', nativeStored(parse(readFileSync(written.implicitVrLittleEndian.files[0]))));
      // dcmjs hands big-endian OW back as stored: swap here, and cross-check with dcmconv below.
      const big = parse(readFileSync(written.explicitVrBigEndian.files[0]));
      const bigBytes = new Uint8Array((big.dataset.PixelData as ArrayBuffer[])[0]);
      const swapped = new Int16Array(bigBytes.length / 2);
      for (let i = 0; i < swapped.length; i++) swapped[i] = (bigBytes[2 * i] << 24) >> 16 | bigBytes[2 * i + 1];
      compare('big endian (swapped)', swapped);
      compare('deflated (dcmjs)', nativeStored(parse(readFileSync(written.deflatedExplicitVrLittleEndian.files[0]))));

      const j2k = parse(readFileSync(written.jpeg2000Lossless.files[0]));
      const codestream = new Uint8Array((j2k.dataset.PixelData as ArrayBuffer[])[0]);
      const require = createRequire(import.meta.url);
      const factory = require('@cornerstonejs/codec-openjpeg/decodewasmjs') as (o: Record<string, unknown>) => Promise<Record<string, new () => {
        getEncodedBuffer(n: number): Uint8Array;
        decode(): void;
        getDecodedBuffer(): Uint8Array;
        delete(): void;
      }>>;
      const openjpeg = await factory({ print: () => undefined, printErr: () => undefined });
      const decoder = new openjpeg.J2KDecoder();
      decoder.getEncodedBuffer(codestream.length).set(codestream);
      decoder.decode();
      compare('JPEG 2000', new Int16Array(decoder.getDecodedBuffer().slice().buffer));
      decoder.delete();

      if (!hasCommand('dcmconv') || !hasCommand('dcmdjpls')) {
        console.log('      (dcmtk missing: big-endian and JPEG-LS cross-checks with dcmtk skipped)');
        return;
      }
      const viaDcmtk = (source: string, tool: string, args: string[]) => {
        const target = `${source}.${tool}.dcm`;
        run(tool, [...args, source, target]);
        return nativeStored(parse(readFileSync(target)));
      };
      compare('big endian (dcmconv)', viaDcmtk(written.explicitVrBigEndian.files[0], 'dcmconv', ['+te']));
      compare('deflated (dcmconv)', viaDcmtk(written.deflatedExplicitVrLittleEndian.files[0], 'dcmconv', ['+te']));
      compare('JPEG-LS (dcmdjpls)', viaDcmtk(written.jpegLsLossless.files[0], 'dcmdjpls', []));
    });

    it('writes unsigned storage with intercept −1024 and padding outside the reconstruction circle', async () => {
      const { files, plan } = await generatePhantomStudy({ fromLevel: 'T12', sliceCount: 1, storage: 'unsigned', pixelPaddingValue: 0 });
      const parsed = parse(files[0].bytes);
      assert.equal(Number(parsed.dataset.PixelRepresentation), 0);
      assert.equal(Number(parsed.dataset.RescaleIntercept), -1024);
      assert.equal(Number(parsed.dataset.PixelPaddingValue), 0);
      const stored = nativeStored(parsed);
      assert.ok(stored instanceof Uint16Array);
      assert.equal(stored[0], 0, 'corner pixel is padding');
      const slice = renderPhantomSlice(plan, 0);
      for (let i = 0; i < stored.length; i++) if (stored[i] - 1024 !== slice.hu[i]) assert.fail(`pixel ${i}`);
    });

    it('writes truth.json beside the files, with masks that decode', async () => {
      const dir = join(tmp.path, 'with-truth');
      const result = await writePhantomStudy(dir, { fromLevel: 'L1', toLevel: 'T11', rows: 128, columns: 128 }, { masks: 'all' });
      const truth = JSON.parse(readFileSync(result.truthPath, 'utf8')) as typeof result.truth;
      assert.equal(truth.format, 'ct-muscle-node/phantom-truth');
      assert.equal(truth.slices.length, result.files.length);
      assert.equal(result.files[0], join(dir, 'CT000001.dcm'));
      for (const slice of truth.slices) {
        assert.equal(typeof slice.muscleAreaCm2, 'number');
        const mask = decodeMaskRle(slice.muscleMask!);
        let count = 0;
        for (const v of mask) count += v;
        assert.ok(Math.abs((count * truth.pixelSpacingMm[0] * truth.pixelSpacingMm[1]) / 100 - slice.muscleAreaCm2!) < 1e-3);
      }
      assert.ok(truth.t12.sliceIndex !== null && truth.t12.muscleMask !== null);
    });
  });
});

/** stdout and stderr together, whatever the exit status (dciodvfy reports on stderr). */
function spawnText(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}
