/** The vertebral-level finder: which axial slice cuts the middle of T12 (or L1–L3). */
export { explicitChoice, findLevel, METHOD as LEVEL_METHOD } from './find-level.ts';
export { levelForPaths, type LevelForPathsOptions, type PathLevelOutcome } from './paths.ts';
export { TARGET_LEVELS, type LevelOptions, type LevelResult, type LevelEvidence, type TargetLevel, type VertebraEvidence } from './types.ts';
