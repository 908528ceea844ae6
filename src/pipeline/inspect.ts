/**
 * The `inspect` report: what series a set of files holds, their geometry, and which one the
 * selection rules pick. Headers only: nothing is decoded, so it is quick on 1,000-slice series.
 * The JSON shape is a public contract (README, docs/cli.md).
 */
import { describeError } from '../errors.ts';
import type { ScanError } from '../dicom/scan.ts';
import type { SeriesGroup } from '../dicom/series.ts';
import { planVolume } from '../dicom/volume.ts';
import { isEncapsulatedSyntaxSupported } from '../dicom/codecs.ts';
import { NATIVE_SYNTAXES, transferSyntaxName } from '../dicom/transfer-syntax.ts';
import type { PlaneLabel } from '../dicom/types.ts';
import type { SelectionRules } from '../intake/select-series.ts';
import { chooseSeries, scanInputs, type RunOptions } from './study.ts';

export interface InspectedSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number | null;
  seriesDescription: string | null;
  modality: string | null;
  sliceCount: number;
  rows: number | null;
  columns: number | null;
  /** [row spacing, column spacing] mm, PixelSpacing order. */
  pixelSpacingMm: [number, number] | null;
  sliceSpacingMm: number | null;
  sliceThicknessMm: number | null;
  orientation: PlaneLabel | null;
  imageOrientationPatient: number[] | null;
  transferSyntaxUid: string;
  selected: boolean;
  reasons: string[];
  /** Ordered inferior → superior (zMm = LPS head-foot position of the slice). */
  slices: Array<{ sopInstanceUid: string; zMm: number }>;
}

export interface InspectReport {
  series: InspectedSeries[];
  errors: ScanError[];
}

/** Slice order from the volume plan (no pixels read): the order the volume stage would build. */
function orderedSlices(group: SeriesGroup): { slices: InspectedSeries['slices']; problem?: string } {
  try {
    const plan = planVolume(group);
    return { slices: plan.ordered.map((h) => ({ sopInstanceUid: h.sopInstanceUid, zMm: h.imagePositionPatient![2] })) };
  } catch (error) {
    // Unorderable series are still listed (by z where known) so the user sees what arrived.
    const slices = group.instances
      .filter((h) => h.imagePositionPatient)
      .map((h) => ({ sopInstanceUid: h.sopInstanceUid, zMm: h.imagePositionPatient![2] }))
      .sort((a, b) => a.zMm - b.zMm);
    const { code, message } = describeError(error);
    return { slices, problem: `${code}: ${message}` };
  }
}

function mostCommonSyntax(group: SeriesGroup): string {
  const counts = new Map<string, number>();
  for (const h of group.instances) counts.set(h.transferSyntaxUid, (counts.get(h.transferSyntaxUid) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
}

/** Every series of the inputs (all studies together, as the selection rules see them), without decoding. */
export async function inspectPaths(paths: string[], rules?: Partial<SelectionRules>, options: RunOptions = {}): Promise<InspectReport> {
  const { headers, errors } = await scanInputs(paths, options.limits);
  const { groups, summaries, selection } = await chooseSeries(headers, rules, options);
  const series = groups.map((group, index): InspectedSeries => {
    const summary = summaries[index];
    const first = group.instances[0];
    const candidate = selection.candidates[index];
    const { slices, problem } = orderedSlices(group);
    const syntax = mostCommonSyntax(group);
    const reasons = [...candidate.reasons];
    if (problem && !reasons.some((r) => r.includes(problem))) reasons.push(problem);
    if (!NATIVE_SYNTAXES.has(syntax) && !isEncapsulatedSyntaxSupported(syntax)) {
      reasons.push(`E_UNSUPPORTED_TRANSFER_SYNTAX: ${transferSyntaxName(syntax)} (${syntax}) cannot be decoded.`);
    }
    return {
      studyInstanceUid: group.studyInstanceUid,
      seriesInstanceUid: group.seriesInstanceUid,
      seriesNumber: summary.seriesNumber ?? null,
      seriesDescription: summary.seriesDescription ?? null,
      modality: summary.modality ?? null,
      sliceCount: group.instances.length,
      rows: first.rows ?? null,
      columns: first.columns ?? null,
      pixelSpacingMm: first.pixelSpacing ?? null,
      sliceSpacingMm: summary.sliceSpacingMm,
      sliceThicknessMm: summary.sliceThicknessMm,
      orientation: summary.plane,
      imageOrientationPatient: first.imageOrientationPatient ?? null,
      transferSyntaxUid: syntax,
      selected: selection.selected?.seriesInstanceUid === group.seriesInstanceUid,
      reasons,
      slices,
    };
  });
  return { series, errors };
}
