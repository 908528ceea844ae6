/**
 * The pipeline of one study: stage contracts and the default stages (stages.ts), the one place
 * that runs them in order (study.ts), and the command-shaped views on it (level-paths.ts,
 * inspect.ts). Entry points import from here.
 */
export * from './stages.ts';
export * from './study.ts';
export { levelForPaths, type LevelForPathsOptions, type PathLevelOutcome } from './level-paths.ts';
export { inspectPaths, type InspectReport, type InspectedSeries } from './inspect.ts';
export { patientHeightM } from '../dicom/patient.ts';
export type { OutputFile, StudyOutputs, StudyResult } from '../model/index.ts';
export { NODE_FAILURE_CODES, notMeasuredReason, writeNotMeasured } from './not-measured.ts';
