/** The vertebral-level finder: which axial slice cuts the middle of T12 (or L1–L3). */
export { explicitChoice, findLevel, METHOD as LEVEL_METHOD } from './find-level.ts';
export type { LevelOptions } from './types.ts';
export { slicesInsideBody, type BodySliceChoice } from './body-slices.ts';
export { keepStackMemory, startStack, type BodyMask, type StackBuilder, type WorkStack } from './stack.ts';
