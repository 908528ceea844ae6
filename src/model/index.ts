/** The project's shared data model and constants: no stage owns these; every stage may read them. */
export * from './levels.ts';
export * from './measurements.ts';
export * from './hu.ts';
export * from './results.ts';
export { PACKAGE_VERSION } from './version.ts';
