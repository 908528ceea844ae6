import assert from 'node:assert/strict';
import type { SeriesSummary } from '../src/dicom/types.ts';
import { CtMuscleError } from '../src/errors.ts';
import { classifyKernelName, classifySeriesKernel, type KernelClass } from '../src/intake/kernels.ts';
import {
  DEFAULT_SELECTION_RULES,
  requireSelectedSeries,
  selectSeries,
  validateSelectionRules,
  type SelectionResult,
} from '../src/intake/select-series.ts';

const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const ENHANCED_SR = '1.2.840.10008.5.1.4.1.1.88.22';
const DOSE_SR = '1.2.840.10008.5.1.4.1.1.88.67';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const SEGMENTATION = '1.2.840.10008.5.1.4.1.1.66.4';
const RT_STRUCT = '1.2.840.10008.5.1.4.1.1.481.3';

let uidCounter = 0;

/** A 1 mm soft-tissue axial Siemens series covering 400 mm: accepted by the default rules. */
function series(overrides: Partial<SeriesSummary> = {}): SeriesSummary {
  uidCounter += 1;
  return {
    studyInstanceUid: '1.2.826.0.1.1',
    seriesInstanceUid: `1.2.826.0.1.1.${uidCounter}`,
    modality: 'CT',
    sopClassUids: [CT_IMAGE],
    seriesDescription: 'Abdomen 1.0 Br38f',
    seriesNumber: uidCounter,
    imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    convolutionKernel: ['Br38f'],
    manufacturer: 'SIEMENS',
    softwareVersions: ['syngo CT VB20A'],
    instanceCount: 400,
    plane: 'axial',
    normalTiltFromAxialDeg: 0,
    sliceThicknessMm: 1,
    sliceSpacingMm: 1,
    zRangeMm: [-699.5, -300.5],
    issues: [],
    ...overrides,
  };
}

function candidateOf(result: SelectionResult, item: SeriesSummary) {
  const candidate = result.candidates.find((entry) => entry.seriesInstanceUid === item.seriesInstanceUid);
  assert.ok(candidate, `no candidate for ${item.seriesInstanceUid}`);
  return candidate;
}

/** Runs one series through the rules and returns its single rejection reason. */
function rejectionOf(item: SeriesSummary, rules = {}): string {
  const result = selectSeries([item], rules);
  const candidate = candidateOf(result, item);
  assert.equal(candidate.eligible, false, `expected rejection, got ${candidate.reasons.join('; ')}`);
  assert.equal(result.selected, null);
  assert.equal(candidate.reasons.length, 1);
  return candidate.reasons[0];
}

function assertAccepted(item: SeriesSummary, rules = {}): string[] {
  const result = selectSeries([item], rules);
  const candidate = candidateOf(result, item);
  assert.equal(candidate.eligible, true, `expected acceptance, got ${candidate.reasons.join('; ')}`);
  assert.equal(result.selected, item);
  assert.equal(candidate.rank, 1);
  return candidate.reasons;
}

function selectedUid(result: SelectionResult): string | undefined {
  return result.selected?.seriesInstanceUid;
}

describe('selectSeries: rejection rules', () => {
  it('accepts the baseline series and explains that it was the only one', () => {
    assert.deepEqual(assertAccepted(series()), ['selected: the only eligible series']);
  });

  it('returns no selection and no candidates for an empty study', () => {
    assert.deepEqual(selectSeries([]), { selected: null, candidates: [] });
  });

  it('rejects a modality other than CT, or none, and honours a configured modality', () => {
    assert.equal(rejectionOf(series({ modality: 'MR' })), 'Modality MR is not CT');
    assert.equal(rejectionOf(series({ modality: undefined })), 'Modality missing (CT required)');
    assert.equal(rejectionOf(series(), { modality: 'pt' }), 'Modality CT is not PT');
  });

  it('rejects slices tilted beyond maxAxialTiltDeg and accepts them within it', () => {
    assert.equal(rejectionOf(series({ normalTiltFromAxialDeg: 20, plane: 'oblique' })), 'slice normal 20° from the head-foot axis (oblique; limit 15°)');
    assertAccepted(series({ normalTiltFromAxialDeg: 14.9 }));
    assertAccepted(series({ normalTiltFromAxialDeg: 20, plane: 'oblique' }), { maxAxialTiltDeg: 25 });
    assert.match(rejectionOf(series({ normalTiltFromAxialDeg: 10 }), { maxAxialTiltDeg: 5 }), /10° .*limit 5°/);
  });

  it('folds a tilt reported from a feet-first normal (170° is 10° off axis)', () => {
    assertAccepted(series({ normalTiltFromAxialDeg: 170 }));
  });

  it('rejects coronal and sagittal stacks and stacks with mixed or unknown orientation', () => {
    assert.match(rejectionOf(series({ plane: 'coronal', normalTiltFromAxialDeg: 90 })), /90° from the head-foot axis \(coronal/);
    assert.equal(rejectionOf(series({ plane: null, normalTiltFromAxialDeg: null })), 'slice orientation unknown or mixed');
    assert.equal(rejectionOf(series({ plane: 'sagittal', normalTiltFromAxialDeg: null })), 'sagittal slices (tilt from axial unknown)');
  });

  it('accepts an axial label without a tilt value, with a note', () => {
    const reasons = assertAccepted(series({ normalTiltFromAxialDeg: null }));
    assert.ok(reasons.some((reason) => reason.startsWith('tilt from axial unknown')), reasons.join('; '));
  });

  it('requires ImageType ORIGINAL and PRIMARY by default and names what is missing', () => {
    assert.equal(rejectionOf(series({ imageType: ['ORIGINAL', 'SECONDARY', 'AXIAL'] })), 'ImageType lacks PRIMARY (has ORIGINAL, SECONDARY, AXIAL)');
    assert.equal(rejectionOf(series({ imageType: [] })), 'ImageType lacks ORIGINAL, PRIMARY (has none)');
  });

  it('lets requireImageType be configured, including empty', () => {
    assertAccepted(series({ imageType: ['ORIGINAL', 'AXIAL'] }), { requireImageType: ['original'] });
    assertAccepted(series({ imageType: [] }), { requireImageType: [] });
    assert.equal(rejectionOf(series(), { requireImageType: ['ORIGINAL', 'HELICAL'] }), 'ImageType lacks HELICAL (has ORIGINAL, PRIMARY, AXIAL)');
  });

  it('rejects localizers by ImageType and by description', () => {
    assert.equal(rejectionOf(series({ imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] })), 'localizer (ImageType contains LOCALIZER)');
    for (const description of ['Topogram 0.6 T20s', 'SCOUT', 'SurView', 'Scanogram', 'Localizer 3-plane']) {
      assert.equal(rejectionOf(series({ seriesDescription: description })), `localizer (description "${description}")`);
    }
  });

  it('rejects series with fewer than minSlices instances; a single slice passes the default', () => {
    assertAccepted(series({ instanceCount: 1, zRangeMm: [-500, -500], sliceSpacingMm: null }));
    assert.equal(rejectionOf(series({ instanceCount: 2 }), { minSlices: 3 }), 'only 2 image(s), fewer than minSlices 3');
  });

  it('rejects dose reports by SR or Secondary Capture SOP class and by description', () => {
    assert.match(rejectionOf(series({ modality: 'SR', sopClassUids: [DOSE_SR] })), /^dose report .*1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.67/);
    assert.match(rejectionOf(series({ sopClassUids: [ENHANCED_SR] })), /structured report/);
    assert.match(rejectionOf(series({ modality: 'OT', sopClassUids: [SECONDARY_CAPTURE] })), /^secondary capture \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.7\)/);
    assert.match(rejectionOf(series({ sopClassUids: ['1.2.840.10008.5.1.4.1.1.7.4'] })), /^secondary capture/);
    assert.equal(rejectionOf(series({ seriesDescription: 'Dose Report' })), 'dose report (description "Dose Report")');
    assert.equal(rejectionOf(series({ seriesDescription: 'Patient Protocol' })), 'dose report (description "Patient Protocol")');
  });

  it('matches SOP class prefixes on whole components (VL 1.1.77.1 is not Secondary Capture 1.1.7)', () => {
    assert.equal(rejectionOf(series({ sopClassUids: ['1.2.840.10008.5.1.4.1.1.77.1.4'] }), { modality: 'XC' }), 'Modality CT is not XC');
  });

  it('rejects DERIVED/SECONDARY images and reformats even when ImageType is not required', () => {
    const relaxed = { requireImageType: [] };
    assert.equal(rejectionOf(series({ imageType: ['DERIVED', 'SECONDARY', 'MPR'] }), relaxed), 'derived image (ImageType contains DERIVED, SECONDARY)');
    assert.equal(rejectionOf(series({ imageType: ['ORIGINAL', 'PRIMARY', 'MIP'] })), 'reformat (ImageType contains MIP)');
    assert.equal(rejectionOf(series({ seriesDescription: 'Ax MPR 3mm' })), 'reformat (description "Ax MPR 3mm")');
    assertAccepted(series({ imageType: ['DERIVED', 'PRIMARY', 'AXIAL'] }), { requireImageType: ['PRIMARY'], excludeDerived: false });
  });

  it('rejects the default-rule DERIVED MPR for its ImageType first', () => {
    assert.equal(rejectionOf(series({ imageType: ['DERIVED', 'SECONDARY', 'MPR'] })), 'ImageType lacks ORIGINAL, PRIMARY (has DERIVED, SECONDARY, MPR)');
  });

  it('selects on SOP class as well as Modality: MR Image Storage labelled CT is not measured (issue #11)', () => {
    const MR_IMAGE = '1.2.840.10008.5.1.4.1.1.4';
    assert.equal(rejectionOf(series({ sopClassUids: [MR_IMAGE] })), `SOP class ${MR_IMAGE} is not CT Image Storage or Enhanced CT Image Storage, whatever its Modality says`);
    assert.match(rejectionOf(series({ sopClassUids: [CT_IMAGE, MR_IMAGE] })), /SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.4 is not CT/);
    assert.match(rejectionOf(series({ sopClassUids: [] })), /^SOP Class UID missing/);
    assertAccepted(series({ sopClassUids: ['1.2.840.10008.5.1.4.1.1.2.1'] }));
    // Another modality rule (a site measuring something else) does not get the CT SOP class rule.
    assert.equal(rejectionOf(series({ modality: 'MR', sopClassUids: [MR_IMAGE] })), 'Modality MR is not CT');
  });

  it('rejects non-image SOP classes', () => {
    assert.equal(rejectionOf(series({ modality: 'SEG', sopClassUids: [SEGMENTATION] })), `not an image: SOP class ${SEGMENTATION} (Segmentation)`);
    assert.equal(rejectionOf(series({ modality: 'RTSTRUCT', sopClassUids: [RT_STRUCT] })), `not an image: SOP class ${RT_STRUCT} (Radiotherapy object)`);
    assert.match(rejectionOf(series({ sopClassUids: [CT_IMAGE, '1.2.840.10008.5.1.4.1.1.11.1'] })), /Presentation State/);
  });

  it("rejects the node's own outputs by Manufacturer or SoftwareVersions", () => {
    assert.equal(rejectionOf(series({ manufacturer: 'ct-muscle-node' })), 'written by this node (Manufacturer "ct-muscle-node")');
    assert.equal(
      rejectionOf(series({ softwareVersions: ['ct-muscle-node 0.1.0'] })),
      'written by this node (SoftwareVersions "ct-muscle-node 0.1.0")',
    );
    assert.match(rejectionOf(series({ manufacturer: 'Muscle Lab' }), { ownManufacturer: 'muscle lab' }), /written by this node/);
    assertAccepted(series({ manufacturer: 'ct-muscle-node-fork' }));
  });

  it('rejects slice thickness outside the range, inclusive bounds', () => {
    assert.equal(rejectionOf(series({ sliceThicknessMm: 0.4 })), 'slice thickness 0.4 mm outside 0.5-5 mm');
    assert.equal(rejectionOf(series({ sliceThicknessMm: 6 })), 'slice thickness 6 mm outside 0.5-5 mm');
    assertAccepted(series({ sliceThicknessMm: 0.5 }));
    assertAccepted(series({ sliceThicknessMm: 5 }));
    assertAccepted(series({ sliceThicknessMm: 8 }), { sliceThicknessMm: [1, 10] });
  });

  it('accepts unknown thickness with a note by default, rejects it when configured', () => {
    const reasons = assertAccepted(series({ sliceThicknessMm: null }));
    assert.ok(reasons.some((reason) => reason.startsWith('slice thickness unknown: accepted')), reasons.join('; '));
    assert.equal(rejectionOf(series({ sliceThicknessMm: null }), { acceptUnknownThickness: false }), 'slice thickness unknown');
  });

  it('rejects blocking geometry issues with their message and ignores non-blocking ones', () => {
    for (const kind of ['mixed-orientation', 'several-stacks', 'mixed-size'] as const) {
      const message = `the series has a ${kind} problem`;
      assert.equal(rejectionOf(series({ issues: [{ kind, message }] })), `geometry unusable: ${message}`);
    }
    assertAccepted(series({ issues: [{ kind: 'gap', message: 'a 3 mm gap' }] }));
    assert.match(rejectionOf(series({ issues: [{ kind: 'gap', message: 'a 3 mm gap' }] }), { blockingIssues: ['gap'] }), /a 3 mm gap/);
  });

  it('reports our own SEG as ours, not as a non-image or wrong modality (first rule wins)', () => {
    const ownSeg = series({ modality: 'SEG', sopClassUids: [SEGMENTATION], manufacturer: 'ct-muscle-node', imageType: ['DERIVED', 'PRIMARY'] });
    assert.equal(rejectionOf(ownSeg), 'written by this node (Manufacturer "ct-muscle-node")');
  });
});

describe('selectSeries: ranking', () => {
  it('prefers a soft-tissue kernel over larger coverage and thinner slices', () => {
    const lungThin = series({ convolutionKernel: ['B70f'], seriesDescription: 'Thorax 0.6 B70f', sliceThicknessMm: 0.6, zRangeMm: [-900, -100] });
    const softThick = series({ convolutionKernel: ['B30f'], seriesDescription: 'Abdomen 3.0 B30f', sliceThicknessMm: 3, zRangeMm: [-700, -300] });
    const result = selectSeries([lungThin, softThick]);
    assert.equal(selectedUid(result), softThick.seriesInstanceUid);
    assert.match(candidateOf(result, softThick).reasons[0], /soft-tissue kernel B30f preferred over lung kernel B70f/);
    assert.equal(candidateOf(result, lungThin).rank, 2);
  });

  it('ranks an unknown kernel between soft-tissue and sharp kernels', () => {
    // The bone series gets the lower SeriesNumber, so only the kernel can put it behind the unknown one.
    const bone = series({ convolutionKernel: ['B60f'], seriesDescription: 'Body' });
    const unknown = series({ convolutionKernel: ['XYZ'], seriesDescription: 'Body' });
    const soft = series({ convolutionKernel: ['B31f'], seriesDescription: 'Body', sliceThicknessMm: 3 });
    const result = selectSeries([bone, unknown, soft]);
    assert.deepEqual(
      [bone, unknown, soft].map((item) => candidateOf(result, item).rank),
      [3, 2, 1],
    );
    assert.match(candidateOf(result, bone).reasons[0], /ranked 3: .*soft-tissue kernel B31f preferred over bone kernel B60f/);
  });

  it('prefers larger coverage over thinner slices', () => {
    const thinShort = series({ sliceThicknessMm: 0.75, zRangeMm: [-500, -300] });
    const thickLong = series({ sliceThicknessMm: 2, zRangeMm: [-800, -200] });
    const result = selectSeries([thinShort, thickLong]);
    assert.equal(selectedUid(result), thickLong.seriesInstanceUid);
    assert.match(candidateOf(result, thickLong).reasons[0], /larger z coverage \(602 mm vs 200\.75 mm/);
  });

  it('treats coverage within coverageToleranceMm as equal so thinner slices decide', () => {
    const thick = series({ sliceThicknessMm: 5, zRangeMm: [-697.5, -302.5], instanceCount: 80 });
    const thin = series({ sliceThicknessMm: 1, zRangeMm: [-695, -305] });
    const result = selectSeries([thick, thin]);
    assert.equal(selectedUid(result), thin.seriesInstanceUid);
    assert.match(candidateOf(result, thin).reasons[0], /thinner slices \(1 mm vs 5 mm/);
    assert.equal(selectedUid(selectSeries([thick, thin], { coverageToleranceMm: 0 })), thick.seriesInstanceUid);
  });

  it('prefers the series covering the target z range over a larger one that misses it', () => {
    const large = series({ zRangeMm: [-600, 0], sliceThicknessMm: 1 });
    const coversTarget = series({ zRangeMm: [-900, -500], sliceThicknessMm: 2 });
    const target: [number, number] = [-720, -680];
    assert.equal(selectedUid(selectSeries([large, coversTarget])), large.seriesInstanceUid);
    const result = selectSeries([large, coversTarget], {}, { targetZRangeMm: target });
    assert.equal(selectedUid(result), coversTarget.seriesInstanceUid);
    assert.match(candidateOf(result, coversTarget).reasons[0], /covers the target z range -720 to -680 mm; .* falls 119\.5 mm short of it/);
  });

  it('ranks unknown thickness and unknown coverage last within their criterion', () => {
    const unknownThickness = series({ sliceThicknessMm: null, sliceSpacingMm: 1 });
    const known = series({ sliceThicknessMm: 3 });
    assert.equal(selectedUid(selectSeries([unknownThickness, known])), known.seriesInstanceUid);
    const unknownCoverage = series({ zRangeMm: null, sliceThicknessMm: 0.6 });
    assert.equal(selectedUid(selectSeries([unknownCoverage, known])), known.seriesInstanceUid);
  });

  it('then prefers more slices, then the lower SeriesNumber, then the lower UID', () => {
    const fewer = series({ instanceCount: 300, seriesNumber: 1 });
    const more = series({ instanceCount: 400, seriesNumber: 9 });
    assert.equal(selectedUid(selectSeries([fewer, more])), more.seriesInstanceUid);

    const high = series({ seriesNumber: 7, seriesInstanceUid: '1.2.3.1' });
    const low = series({ seriesNumber: 3, seriesInstanceUid: '1.2.3.9' });
    const byNumber = selectSeries([high, low]);
    assert.equal(selectedUid(byNumber), low.seriesInstanceUid);
    assert.match(candidateOf(byNumber, low).reasons[0], /lower SeriesNumber \(3 vs 7/);

    const b = series({ seriesNumber: 4, seriesInstanceUid: '1.2.3.10' });
    const a = series({ seriesNumber: 4, seriesInstanceUid: '1.2.3.09' });
    const byUid = selectSeries([b, a]);
    assert.equal(selectedUid(byUid), a.seriesInstanceUid);
    assert.match(candidateOf(byUid, a).reasons[0], /tie broken by SeriesInstanceUID \(1\.2\.3\.09 sorts before 1\.2\.3\.10\)/);
  });

  it('is independent of input order', () => {
    const items = [
      series({ seriesNumber: 2, seriesInstanceUid: '1.9.2' }),
      series({ seriesNumber: 2, seriesInstanceUid: '1.9.1' }),
      series({ seriesNumber: 2, seriesInstanceUid: '1.9.3' }),
      series({ seriesNumber: 1, convolutionKernel: ['B70f'], seriesInstanceUid: '1.9.0' }),
    ];
    const orders = [items, [...items].reverse(), [items[2], items[0], items[3], items[1]]];
    for (const order of orders) {
      const result = selectSeries(order);
      assert.equal(selectedUid(result), '1.9.1');
      const ranks = Object.fromEntries(result.candidates.map((candidate) => [candidate.seriesInstanceUid, candidate.rank]));
      assert.deepEqual(ranks, { '1.9.0': 4, '1.9.1': 1, '1.9.2': 2, '1.9.3': 3 });
    }
  });

  it('keeps candidates in input order, one per summary', () => {
    const items = [series({ modality: 'MR' }), series(), series({ convolutionKernel: ['B70f'] })];
    const result = selectSeries(items);
    assert.deepEqual(
      result.candidates.map((candidate) => candidate.seriesInstanceUid),
      items.map((item) => item.seriesInstanceUid),
    );
    assert.equal(result.candidates[0].rank, undefined);
  });
});

describe('selectSeries: realistic Siemens study', () => {
  it('picks the 1 mm Br38f soft-tissue series', () => {
    const topogram = series({
      seriesNumber: 1,
      seriesDescription: 'Topogram 0.6 T20s',
      imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER', 'CT_SOM5 TOP'],
      convolutionKernel: ['T20s'],
      instanceCount: 1,
      plane: 'coronal',
      normalTiltFromAxialDeg: 90,
      sliceThicknessMm: 0.6,
      zRangeMm: null,
    });
    const soft5 = series({
      seriesNumber: 2,
      seriesDescription: 'Thorax-Abdomen 5.0 B30f',
      convolutionKernel: ['B30f'],
      instanceCount: 120,
      sliceThicknessMm: 5,
      sliceSpacingMm: 5,
      zRangeMm: [-897.5, -302.5],
    });
    const lung1 = series({
      seriesNumber: 3,
      seriesDescription: 'Thorax 1.0 B70f',
      convolutionKernel: ['B70f'],
      instanceCount: 600,
      zRangeMm: [-899.5, -300.5],
    });
    const soft1 = series({
      seriesNumber: 4,
      seriesDescription: 'Thorax-Abdomen 1.0 Br38f',
      convolutionKernel: ['Br38f', '3'],
      instanceCount: 600,
      zRangeMm: [-899.5, -300.5],
    });
    const doseReport = series({
      seriesNumber: 501,
      seriesDescription: 'Dose Report',
      modality: 'SR',
      sopClassUids: [DOSE_SR],
      imageType: [],
      convolutionKernel: [],
      instanceCount: 1,
      plane: null,
      normalTiltFromAxialDeg: null,
      sliceThicknessMm: null,
      zRangeMm: null,
    });
    const mpr = series({
      seriesNumber: 6,
      seriesDescription: 'Cor MPR 3.0 Br38f',
      imageType: ['DERIVED', 'SECONDARY', 'MPR'],
      plane: 'coronal',
      normalTiltFromAxialDeg: 90,
      sliceThicknessMm: 3,
      instanceCount: 150,
    });
    const ownSeg = series({
      seriesNumber: 901,
      seriesDescription: 'Skeletal muscle T12',
      modality: 'SEG',
      sopClassUids: [SEGMENTATION],
      manufacturer: 'ct-muscle-node',
      softwareVersions: ['0.1.0'],
      imageType: ['DERIVED', 'PRIMARY'],
      convolutionKernel: [],
      instanceCount: 1,
    });
    const study = [topogram, soft5, lung1, soft1, doseReport, mpr, ownSeg];
    const result = selectSeries(study);

    assert.equal(result.selected, soft1);
    assert.deepEqual(
      result.candidates.map((candidate) => [candidate.eligible, candidate.rank]),
      [
        [false, undefined],
        [true, 2],
        [true, 3],
        [true, 1],
        [false, undefined],
        [false, undefined],
        [false, undefined],
      ],
    );
    assert.match(candidateOf(result, topogram).reasons[0], /^localizer/);
    assert.match(candidateOf(result, doseReport).reasons[0], /^dose report/);
    assert.match(candidateOf(result, mpr).reasons[0], /^ImageType lacks ORIGINAL, PRIMARY/);
    assert.match(candidateOf(result, ownSeg).reasons[0], /^written by this node/);
    assert.deepEqual(candidateOf(result, soft1).reasons, [
      'selected: thinner slices (1 mm vs 5 mm of series 2 "Thorax-Abdomen 5.0 B30f")',
      'selected: soft-tissue kernel Br38f preferred over lung kernel B70f of series 3 "Thorax 1.0 B70f"',
    ]);
    assert.equal(requireSelectedSeries(result), soft1);
  });
});

describe('requireSelectedSeries', () => {
  it('throws E_NO_SERIES for an empty study and E_NO_SUITABLE_SERIES with reasons otherwise', () => {
    assert.throws(() => requireSelectedSeries(selectSeries([])), (error: unknown) => error instanceof CtMuscleError && error.code === 'E_NO_SERIES');
    const mr = series({ modality: 'MR', seriesInstanceUid: '1.5.5' });
    assert.throws(
      () => requireSelectedSeries(selectSeries([mr])),
      (error: unknown) => error instanceof CtMuscleError && error.code === 'E_NO_SUITABLE_SERIES' && error.message.includes('1.5.5: Modality MR is not CT'),
    );
  });
});

describe('kernel classification', () => {
  const table: Array<[string, KernelClass]> = [
    // Siemens
    ['B30f', 'soft-tissue'],
    ['B31s', 'soft-tissue'],
    ['Br38f', 'soft-tissue'],
    ['Br40d', 'soft-tissue'],
    ['Br40d\\3', 'soft-tissue'],
    ['I30f', 'soft-tissue'],
    ['Qr40', 'soft-tissue'],
    ['B45f', 'soft-tissue'],
    ['B70f', 'lung'],
    ['I70f', 'lung'],
    ['Bl57d', 'lung'],
    ['Bl64', 'lung'],
    ['Br64d', 'bone'],
    ['B60f', 'bone'],
    ['B50f', 'sharp'],
    ['B80f', 'sharp'],
    // GE
    ['STANDARD', 'soft-tissue'],
    ['SOFT', 'soft-tissue'],
    ['DETAIL', 'soft-tissue'],
    ['HD STANDARD', 'soft-tissue'],
    ['LUNG', 'lung'],
    ['CHST', 'lung'],
    ['BONE', 'bone'],
    ['BONEPLUS', 'bone'],
    ['EDGE', 'sharp'],
    // Philips
    ['A', 'soft-tissue'],
    ['B', 'soft-tissue'],
    ['C', 'soft-tissue'],
    ['UB', 'soft-tissue'],
    ['L', 'lung'],
    ['Lung', 'lung'],
    ['D', 'sharp'],
    ['E', 'sharp'],
    ['YA', 'sharp'],
    ['YD', 'sharp'],
    // Canon / Toshiba
    ['FC01', 'soft-tissue'],
    ['FC08', 'soft-tissue'],
    ['FC18', 'soft-tissue'],
    ['FC52', 'lung'],
    ['FC86', 'bone'],
    ['FL04', 'lung'],
    ['FC30', 'unknown'],
    // free-text names
    ['Body Sharp', 'sharp'],
    ['SoftTissue', 'soft-tissue'],
    ['B_SOFT_B', 'soft-tissue'],
    // unknown
    ['', 'unknown'],
    ['XYZ', 'unknown'],
    ['T20s', 'unknown'],
  ];
  for (const [kernel, expected] of table) {
    it(`classifies ${JSON.stringify(kernel)} as ${expected}`, () => {
      assert.equal(classifyKernelName(kernel), expected);
    });
  }

  it('reads the series kernel before the description, then kernel tokens and words in the description', () => {
    assert.deepEqual(classifySeriesKernel(['B30f'], 'Lung 1.0'), { kernelClass: 'soft-tissue', evidence: 'B30f', from: 'kernel' });
    assert.deepEqual(classifySeriesKernel([], 'Thorax 1.0 B70f'), { kernelClass: 'lung', evidence: 'B70f', from: 'kernel' });
    assert.deepEqual(classifySeriesKernel(['XYZ'], 'Weichteil 1.0'), { kernelClass: 'soft-tissue', evidence: 'Weichteil 1.0', from: 'description' });
    assert.equal(classifySeriesKernel([], 'Mediastinum 2mm').kernelClass, 'soft-tissue');
    assert.equal(classifySeriesKernel([], 'Lungenfenster').kernelClass, 'lung');
    assert.equal(classifySeriesKernel([], 'Bone 1mm').kernelClass, 'bone');
    assert.equal(classifySeriesKernel([], 'T12 level').kernelClass, 'unknown');
    assert.deepEqual(classifySeriesKernel(['XYZ', '3'], 'Body'), { kernelClass: 'unknown', evidence: 'XYZ', from: 'kernel' });
    assert.deepEqual(classifySeriesKernel([], undefined), { kernelClass: 'unknown', evidence: null, from: 'none' });
  });
});

describe('validateSelectionRules', () => {
  function configError(value: unknown, expected: RegExp): void {
    assert.throws(
      () => validateSelectionRules(value),
      (error: unknown) => error instanceof CtMuscleError && error.code === 'E_CONFIG_INVALID' && expected.test(error.message),
    );
  }

  it('fills defaults and normalises case', () => {
    assert.deepEqual(validateSelectionRules(undefined), { ...DEFAULT_SELECTION_RULES });
    assert.deepEqual(validateSelectionRules({ maxAxialTiltDeg: undefined }), { ...DEFAULT_SELECTION_RULES });
    const rules = validateSelectionRules({ modality: 'ct', requireImageType: ['original'], sliceThicknessMm: [1, 3] });
    assert.equal(rules.modality, 'CT');
    assert.deepEqual(rules.requireImageType, ['ORIGINAL']);
    assert.deepEqual(rules.sliceThicknessMm, [1, 3]);
    assert.equal(rules.maxAxialTiltDeg, 15);
    assert.equal(rules.minSlices, 1);
  });

  it('rejects wrong types and ranges with the path and the offending value', () => {
    configError(null, /^selection must be an object \(got null\)$/);
    configError([], /^selection must be an object/);
    configError({ maxAxialTiltDeg: '15' }, /^selection\.maxAxialTiltDeg must be a number from 0 to 90 \(got "15"\)$/);
    configError({ maxAxialTiltDeg: 91 }, /^selection\.maxAxialTiltDeg must be a number from 0 to 90 \(got 91\)$/);
    configError({ maxAxialTiltDeg: Number.NaN }, /got NaN/);
    configError({ minSlices: 0 }, /^selection\.minSlices must be an integer >= 1 \(got 0\)$/);
    configError({ minSlices: 1.5 }, /^selection\.minSlices must be an integer >= 1/);
    configError({ requireImageType: 'ORIGINAL' }, /^selection\.requireImageType must be an array of strings/);
    configError({ requireImageType: ['ORIGINAL', 3] }, /^selection\.requireImageType\[1\] must be a non-empty string \(got 3\)$/);
    configError({ sliceThicknessMm: [5, 1] }, /^selection\.sliceThicknessMm must be a \[min, max\] pair with min <= max \(got \[5,1\]\)$/);
    configError({ sliceThicknessMm: [1] }, /^selection\.sliceThicknessMm must be a \[min, max\] pair/);
    configError({ sliceThicknessMm: [-1, 5] }, /^selection\.sliceThicknessMm\[0\] must be a number >= 0 \(got -1\)$/);
    configError({ excludeDerived: 'yes' }, /^selection\.excludeDerived must be true or false/);
    configError({ acceptUnknownThickness: 1 }, /^selection\.acceptUnknownThickness must be true or false \(got 1\)$/);
    configError({ ownManufacturer: '  ' }, /^selection\.ownManufacturer must be a non-empty string/);
    configError({ modality: 7 }, /^selection\.modality must be a non-empty string \(got 7\)$/);
    configError({ blockingIssues: ['mixed-size', 'bent'] }, /^selection\.blockingIssues\[1\] must be one of .*several-stacks.* \(got "bent"\)$/);
    configError({ coverageToleranceMm: -1 }, /^selection\.coverageToleranceMm must be a number >= 0/);
    configError({ maxTiltDeg: 10 }, /^selection\.maxTiltDeg is not a selection rule \(known: modality, maxAxialTiltDeg/);
  });

  it('uses the given path in messages', () => {
    assert.throws(() => validateSelectionRules({ minSlices: -2 }, 'config.intake.selection'), /^CtMuscleError: config\.intake\.selection\.minSlices /);
  });

  it('is applied by selectSeries to the rules it is given', () => {
    assert.throws(
      () => selectSeries([series()], { maxAxialTiltDeg: 120 }),
      (error: unknown) => error instanceof CtMuscleError && error.code === 'E_CONFIG_INVALID',
    );
    assert.throws(
      () => selectSeries([series()], {}, { targetZRangeMm: [Number.NaN, 0] }),
      (error: unknown) => error instanceof CtMuscleError && /targetZRangeMm/.test(error.message),
    );
  });
});
