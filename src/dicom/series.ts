/** Instances → series: grouping by SeriesInstanceUID and the header-only summary that selection reads. */
import { analyzeStack, planeOf, tiltFromAxialDeg } from './geometry.ts';
import type { InstanceHeader, SeriesSummary } from './types.ts';

export interface SeriesGroup {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  instances: InstanceHeader[];
}

/** Group by series, keeping the order in which series were first seen; repeated SOP Instance UIDs are kept once. */
export function groupIntoSeries(headers: InstanceHeader[]): SeriesGroup[] {
  const groups = new Map<string, SeriesGroup>();
  for (const header of headers) {
    let group = groups.get(header.seriesInstanceUid);
    if (!group) {
      group = { studyInstanceUid: header.studyInstanceUid, seriesInstanceUid: header.seriesInstanceUid, instances: [] };
      groups.set(header.seriesInstanceUid, group);
    }
    if (!group.instances.some((i) => i.sopInstanceUid === header.sopInstanceUid)) group.instances.push(header);
  }
  return [...groups.values()];
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

function mostCommon<T>(values: Array<T | undefined>): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount) [best, bestCount] = [v, c];
  return best;
}

export function summarizeSeries(group: SeriesGroup): SeriesSummary {
  const { instances } = group;
  const first = instances[0];
  const stack = analyzeStack(instances);
  const mixed = stack?.issues.some((i) => i.kind === 'mixed-orientation') ?? false;
  const zs = instances.filter((i) => i.imagePositionPatient).map((i) => i.imagePositionPatient![2]);
  return {
    studyInstanceUid: group.studyInstanceUid,
    seriesInstanceUid: group.seriesInstanceUid,
    modality: first.modality,
    sopClassUids: union(instances.map((i) => [i.sopClassUid])).filter((v) => v !== ''),
    seriesDescription: first.seriesDescription,
    seriesNumber: first.seriesNumber,
    imageType: union(instances.map((i) => i.imageType)),
    convolutionKernel: union(instances.map((i) => i.convolutionKernel)),
    manufacturer: first.manufacturer,
    softwareVersions: union(instances.map((i) => i.softwareVersions)),
    instanceCount: instances.length,
    plane: stack && !mixed ? planeOf(stack.normal) : null,
    normalTiltFromAxialDeg: stack && !mixed ? tiltFromAxialDeg(stack.normal) : null,
    sliceThicknessMm: mostCommon(instances.map((i) => i.sliceThickness)) ?? null,
    sliceSpacingMm: stack?.sliceSpacingMm ?? null,
    zRangeMm: zs.length > 0 ? [Math.min(...zs), Math.max(...zs)] : null,
    issues: stack?.issues ?? [],
  };
}
