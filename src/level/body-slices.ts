/**
 * The slices "inside" a vertebral body, for measurement.slices "body": those whose whole slab
 * (centre ± half the slice thickness) lies between the body's endplates, as the level finder
 * placed them (FoundLevel.evidence.targetBodyMm). A slab that reaches past an endplate holds disc
 * or endplate in partial volume, and the segmenter's spine rules need the body's bone outlined.
 * When the slices are too thick for any slab to fit, the slices whose centre lies between the
 * endplates are taken; the mid slice is always one of them.
 */

export interface BodySliceChoice {
  /** Indices into the ordered slices, inferior → superior. */
  indices: number[];
  /** The rule in words, for the reports. */
  rule: string;
}

const mm = (v: number) => v.toFixed(1);

/** `zMm` of every slice (any order), the body's [inferior, superior] z, the slab thickness and the mid slice's index. */
export function slicesInsideBody(zMm: readonly number[], bodyMm: readonly [number, number], thicknessMm: number | null, midIndex: number): BodySliceChoice {
  const [inferior, superior] = bodyMm[0] <= bodyMm[1] ? bodyMm : [bodyMm[1], bodyMm[0]];
  const half = thicknessMm !== null && Number.isFinite(thicknessMm) && thicknessMm > 0 ? thicknessMm / 2 : 0;
  const within = (margin: number) => zMm.flatMap((z, k) => (z >= inferior + margin && z <= superior - margin ? [k] : []));
  let indices = within(half);
  let rule = `every slice whose slab (centre ± ${mm(half)} mm) lies between the endplates (z ${mm(inferior)} to ${mm(superior)} mm)`;
  if (indices.length === 0) {
    indices = within(0);
    rule = `every slice whose centre lies between the endplates (z ${mm(inferior)} to ${mm(superior)} mm; no ${mm(2 * half)} mm slab fits inside)`;
  }
  if (!indices.includes(midIndex)) indices.push(midIndex);
  indices.sort((a, b) => zMm[a] - zMm[b]);
  return { indices, rule };
}
