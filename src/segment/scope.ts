/**
 * What the anatomic segmenter is made for, and review flags when a slice lies outside it. The
 * segmenter knows the trunk from T12 to L3: the wall, the paraspinal muscles, psoas and quadratus
 * lumborum. Below L3 the iliac bones, iliacus and gluteal muscles appear and it has no rules for
 * them; with the trunk cut by the image edge the area is a fraction of the real one; at L1–L3 a
 * psoas it could not find means the area is short. In each case the number is still reported
 * (a reader can judge the picture) but never silently: a flag says why it needs review.
 * Flags are strings `code: explanation`, like the measurement's own (src/measure).
 */
import { connectedComponents } from '../image/morphology.ts';

/** Levels the anatomic segmenter's rules cover. */
export const ANATOMIC_LEVELS: readonly string[] = ['T12', 'L1', 'L2', 'L3'];
/** Levels where psoas is expected on both sides (it starts at T12/L1 and is tiny at its top). */
export const PSOAS_LEVELS: readonly string[] = ['L1', 'L2', 'L3'];
/** Levels where quadratus lumborum is expected on both sides. */
const QUADRATUS_LEVELS: readonly string[] = ['L2', 'L3'];
/** A muscle smaller than this on one side counts as not found. */
const MIN_FOUND_CM2 = 0.3;
/** Share of the trunk's outline on the image edge above which the trunk counts as cut off. */
const MAX_OUTLINE_ON_EDGE = 0.1;
/** Bone beside the spine at least this large on both sides is the ilium (a rib section is far smaller). */
const MIN_ILIUM_CM2 = 8;
const BONE_HU = 180;

export interface ScopeEvidence {
  /** The level the slice is meant to show, when the caller knows it. */
  level?: string;
  /** Share of the trunk outline pixels that lie on the image border (0..1). */
  outlineOnEdge: number;
  /** Large bone masses on both sides of the spine (iliac wings). */
  pelvis: boolean;
  vertebraFound: boolean;
  /** [patient right, patient left] in cm², or null when not searched (no vertebra). */
  psoasCm2: [number, number] | null;
  quadratusCm2: [number, number] | null;
}

export function anatomicReviewFlags(e: ScopeEvidence): string[] {
  const flags: string[] = [];
  const level = e.level && /^[TLS]\d+$/.test(e.level) ? e.level : undefined;
  if (level && !ANATOMIC_LEVELS.includes(level)) {
    flags.push(`segmenter-level-unsupported: the anatomic segmenter has rules for ${ANATOMIC_LEVELS.join(', ')} only, not ${level}; review the mask`);
  }
  if (e.pelvis) flags.push('segmenter-below-l3: iliac bone beside the spine (below L3); iliacus and gluteal muscles are not segmented, review the mask');
  if (e.outlineOnEdge > MAX_OUTLINE_ON_EDGE) {
    flags.push(`trunk-outside-view: ${(100 * e.outlineOnEdge).toFixed(0)}% of the trunk outline lies on the image edge; the muscle outside the field of view is not measured`);
  }
  if (!e.vertebraFound) flags.push('segmenter-no-vertebra: no vertebra found in the slice; paraspinal and psoas rules not applied, review the mask');
  if (level && PSOAS_LEVELS.includes(level) && e.psoasCm2) flags.push(...missing('psoas', level, e.psoasCm2));
  if (level && QUADRATUS_LEVELS.includes(level) && e.quadratusCm2) flags.push(...missing('quadratus lumborum', level, e.quadratusCm2));
  return flags;
}

function missing(muscle: string, level: string, cm2: [number, number]): string[] {
  const sides = (['right', 'left'] as const).filter((_, k) => cm2[k] < MIN_FOUND_CM2);
  if (sides.length === 0) return [];
  const code = muscle === 'psoas' ? 'psoas-not-found' : 'quadratus-not-found';
  return [`${code}: no ${muscle} found on the ${sides.join(' and ')} side at ${level}; the area is likely short, review the mask`];
}

/** Share of the trunk's outline pixels (trunk pixels with a non-trunk 4-neighbour, or on the border) that lie on the image border. */
export function outlineOnEdge(trunk: Uint8Array, rows: number, columns: number): number {
  let outline = 0;
  let onEdge = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (!trunk[i]) continue;
      const border = r === 0 || c === 0 || r === rows - 1 || c === columns - 1;
      if (border) {
        outline++;
        onEdge++;
      } else if (!trunk[i - 1] || !trunk[i + 1] || !trunk[i - columns] || !trunk[i + columns]) outline++;
    }
  }
  return outline > 0 ? onEdge / outline : 0;
}

/**
 * Iliac wings: bone outside the vertebra, at least MIN_ILIUM_CM2 on each side of the canal
 * (`leftOf(x, y)` > 0 on the patient's left).
 */
export function pelvisBeside(
  smoothHu: Float32Array,
  trunk: Uint8Array,
  vertebra: Uint8Array | null,
  rows: number,
  columns: number,
  spacing: [number, number],
  leftOf: (x: number, y: number) => number,
): boolean {
  const n = rows * columns;
  const bone = new Uint8Array(n);
  for (let i = 0; i < n; i++) bone[i] = trunk[i] && smoothHu[i] >= BONE_HU && !(vertebra && vertebra[i]) ? 1 : 0;
  const { labels, count, sizes } = connectedComponents(bone, rows, columns);
  const pixelCm2 = (spacing[0] * spacing[1]) / 100;
  const side = new Float64Array(count + 1);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) if (labels[r * columns + c]) side[labels[r * columns + c]] += leftOf(c * spacing[1], r * spacing[0]);
  let right = 0;
  let left = 0;
  for (let l = 1; l <= count; l++) {
    const cm2 = sizes[l] * pixelCm2;
    if (cm2 > right && side[l] < 0) right = cm2;
    if (cm2 > left && side[l] > 0) left = cm2;
  }
  return right >= MIN_ILIUM_CM2 && left >= MIN_ILIUM_CM2;
}
