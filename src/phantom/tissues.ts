/**
 * Tissue classes of the phantom and their CT numbers. Rendering paints small integer labels;
 * HU come from these tables only at the end, so contrast phases or muscle-truth rules change in
 * one place and the label map doubles as a per-tissue ground truth.
 */

export const TISSUE = {
  AIR: 0,
  SKIN: 1,
  FAT_SUBCUTANEOUS: 2,
  FAT_VISCERAL: 3,
  FAT_INTRAMUSCULAR: 4,
  MUSCLE_WALL: 5,
  MUSCLE_PARASPINAL: 6,
  MUSCLE_PSOAS: 7,
  MUSCLE_OTHER: 8,
  MUSCLE_ARM: 9,
  BONE_CORTICAL: 10,
  BONE_CANCELLOUS: 11,
  BONE_ENDPLATE: 12,
  BONE_POSTERIOR: 13,
  RIB_CORTEX: 14,
  RIB_MARROW: 15,
  CARTILAGE: 16,
  MARROW_FATTY: 17,
  DISC: 18,
  EPIDURAL_FAT: 19,
  CSF: 20,
  CORD: 21,
  LUNG: 22,
  GAS: 23,
  LIVER: 24,
  SPLEEN: 25,
  KIDNEY: 26,
  PANCREAS: 27,
  GALLBLADDER: 28,
  AORTA: 29,
  VEIN: 30,
  HEART: 31,
  BOWEL_WALL: 32,
  FLUID: 33,
  STOOL: 34,
  TABLE_SHELL: 35,
  TABLE_CORE: 36,
  /** Diaphragmatic crura: muscle by HU, but not counted as trunk skeletal muscle (as in TotalSegmentator's mask). */
  CRUS: 37,
} as const;

export type TissueName = keyof typeof TISSUE;
export type TissueLabel = (typeof TISSUE)[TissueName];

export const TISSUE_COUNT = 38;

/** Label → name, for reports and test messages. */
export const TISSUE_NAMES: readonly TissueName[] = (() => {
  const names: TissueName[] = [];
  for (const [name, label] of Object.entries(TISSUE) as Array<[TissueName, number]>) names[label] = name;
  return names;
})();

/** Mean HU without intravenous contrast. */
const PLAIN_HU: Record<TissueName, number> = {
  AIR: -1000,
  SKIN: 45,
  FAT_SUBCUTANEOUS: -105,
  FAT_VISCERAL: -95,
  // Fat streaks inside muscle are thin, so partial volume lifts them above subcutaneous fat.
  FAT_INTRAMUSCULAR: -75,
  MUSCLE_WALL: 46,
  MUSCLE_PARASPINAL: 42,
  MUSCLE_PSOAS: 50,
  MUSCLE_OTHER: 45,
  MUSCLE_ARM: 48,
  BONE_CORTICAL: 850,
  BONE_CANCELLOUS: 240,
  BONE_ENDPLATE: 600,
  BONE_POSTERIOR: 450,
  RIB_CORTEX: 720,
  RIB_MARROW: 300,
  CARTILAGE: 150,
  MARROW_FATTY: 20,
  DISC: 90,
  EPIDURAL_FAT: -80,
  CSF: 10,
  CORD: 35,
  LUNG: -850,
  GAS: -985,
  LIVER: 55,
  SPLEEN: 45,
  KIDNEY: 32,
  PANCREAS: 40,
  GALLBLADDER: 8,
  AORTA: 40,
  VEIN: 40,
  HEART: 40,
  BOWEL_WALL: 40,
  FLUID: 15,
  STOOL: -120,
  TABLE_SHELL: 200,
  TABLE_CORE: -600,
  CRUS: 45,
};

/** Portal-venous phase enhancement: only perfused soft tissue and blood change. */
const CONTRAST_HU: Partial<Record<TissueName, number>> = {
  LIVER: 100,
  SPLEEN: 110,
  KIDNEY: 160,
  PANCREAS: 100,
  AORTA: 200,
  VEIN: 140,
  HEART: 180,
  BOWEL_WALL: 80,
  MUSCLE_WALL: 52,
  MUSCLE_PARASPINAL: 48,
  MUSCLE_PSOAS: 56,
  MUSCLE_OTHER: 51,
  MUSCLE_ARM: 54,
  CRUS: 51,
};

/** HU per label as a lookup table (index = label). */
export function tissueHuTable(contrast: boolean): Float32Array {
  const table = new Float32Array(256);
  for (const [name, label] of Object.entries(TISSUE) as Array<[TissueName, number]>) {
    table[label] = contrast ? (CONTRAST_HU[name] ?? PLAIN_HU[name]) : PLAIN_HU[name];
  }
  return table;
}

/** Labels counted as (trunk) skeletal muscle in the ground truth: arm muscle and fat inside muscle are not. */
export const TRUNK_MUSCLE_LABELS: readonly TissueLabel[] = [TISSUE.MUSCLE_WALL, TISSUE.MUSCLE_PARASPINAL, TISSUE.MUSCLE_PSOAS, TISSUE.MUSCLE_OTHER];

/** A 256-entry 0/1 table: is this label trunk skeletal muscle? */
export const TRUNK_MUSCLE_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256);
  for (const label of TRUNK_MUSCLE_LABELS) lut[label] = 1;
  return lut;
})();

/** A 256-entry 0/1 table over the given labels, for painters that may only cover certain tissue. */
export function labelSet(...labels: number[]): Uint8Array {
  const lut = new Uint8Array(256);
  for (const label of labels) lut[label] = 1;
  return lut;
}
