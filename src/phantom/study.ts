/**
 * Whole phantom studies: in memory for tests, or written to a folder (CT000001.dcm … in
 * acquisition order, plus truth.json) one slice at a time for benchmarks and the demo.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from '../errors.ts';
import { encodePhantomSlice } from './dicom.ts';
import { renderPhantomSlice } from './generate.ts';
import type { PhantomOptions } from './options.ts';
import { planPhantom, type PhantomPlan } from './plan.ts';
import { encodeMaskRle, type PhantomTruth } from './truth.ts';

export interface PhantomFile {
  fileName: string;
  bytes: Uint8Array;
}

export interface StudyOutputOptions {
  /** Which slices' muscle masks to put in the truth (RLE): only the T12 slice (default) or every slice. */
  masks?: 't12' | 'all';
}

export function phantomFileName(acquisitionIndex: number): string {
  return `CT${String(acquisitionIndex + 1).padStart(6, '0')}.dcm`;
}

/** Generate, encode and hand over each slice in acquisition order, completing the truth as it goes. */
async function produce(
  plan: PhantomPlan,
  output: StudyOutputOptions,
  consume: (file: PhantomFile) => Promise<void> | void,
): Promise<PhantomTruth> {
  const truth: PhantomTruth = structuredClone(plan.truth);
  for (const index of plan.acquisitionOrder) {
    const slice = renderPhantomSlice(plan, index);
    const fileName = phantomFileName(slice.acquisitionIndex);
    const entry = truth.slices[index];
    entry.fileName = fileName;
    entry.muscleAreaCm2 = slice.muscleAreaCm2;
    if (output.masks === 'all') entry.muscleMask = encodeMaskRle(slice.muscleMask, slice.rows, slice.columns);
    await consume({ fileName, bytes: await encodePhantomSlice(plan, slice) });
  }
  return truth;
}

/** The whole study in memory: files in acquisition order and the complete truth. */
export async function generatePhantomStudy(
  options: PhantomOptions | PhantomPlan = {},
  output: StudyOutputOptions = {},
): Promise<{ files: PhantomFile[]; truth: PhantomTruth; plan: PhantomPlan }> {
  const plan = planPhantom(options);
  const files: PhantomFile[] = [];
  const truth = await produce(plan, output, (file) => {
    files.push(file);
  });
  return { files, truth, plan };
}

/** Write the study into `directory` (created if needed) slice by slice, then truth.json. */
export async function writePhantomStudy(
  directory: string,
  options: PhantomOptions | PhantomPlan = {},
  output: StudyOutputOptions = {},
): Promise<{ directory: string; files: string[]; truthPath: string; truth: PhantomTruth }> {
  const plan = planPhantom(options);
  const files: string[] = [];
  try {
    await mkdir(directory, { recursive: true });
    const truth = await produce(plan, output, async (file) => {
      const path = join(directory, file.fileName);
      await writeFile(path, file.bytes);
      files.push(path);
    });
    const truthPath = join(directory, 'truth.json');
    await writeFile(truthPath, `${JSON.stringify(truth, null, 1)}\n`);
    return { directory, files, truthPath, truth };
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new CtMuscleError('E_IO', `Could not write the phantom study to ${directory}: ${message}`, { directory });
  }
}
