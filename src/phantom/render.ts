/**
 * One slice of the phantom as a tissue-label image: the anatomy sampled at each pixel centre of
 * the grid at height z, painted from the outside in (body wall, organs, muscles, bone) so later,
 * more specific structures win where shapes meet.
 */
import type { Anatomy } from './anatomy.ts';
import { paintBackMuscles, paintFatBlobs, paintTrunk } from './paint-body.ts';
import { paintArms, paintTable } from './paint-extras.ts';
import { paintOrgans } from './paint-organs.ts';
import { paintSpine } from './paint-spine.ts';
import { pointGrid, type Grid } from './raster.ts';
import { paintRibs } from './ribs.ts';
import { sectionAt } from './section.ts';
import { TISSUE, type TissueLabel } from './tissues.ts';

export function renderLabels(anatomy: Anatomy, z: number, grid: Grid, out?: Uint8Array): Uint8Array {
  const labels = out ?? new Uint8Array(grid.nx * grid.ny);
  labels.fill(TISSUE.AIR);
  const section = sectionAt(anatomy, z);
  paintTrunk(section, grid, labels);
  paintOrgans(anatomy, section, grid, labels);
  paintBackMuscles(anatomy, section, grid, labels);
  paintFatBlobs(anatomy, section, grid, labels);
  paintSpine(anatomy, section, grid, labels);
  paintRibs(anatomy.ribs, z, grid, labels);
  if (anatomy.arms) paintArms(anatomy, section, grid, labels);
  if (anatomy.table) paintTable(anatomy, grid, labels);
  return labels;
}

/** The tissue at one patient point (x, y, z in LPS mm). */
export function tissueAt(anatomy: Anatomy, x: number, y: number, z: number): TissueLabel {
  return renderLabels(anatomy, z, pointGrid(x, y))[0] as TissueLabel;
}
