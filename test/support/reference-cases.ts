/**
 * Reference cases for `validate` tests, written into a temp folder: phantom CT (DICOM) with the
 * phantom's truth mask as the "reader's" DICOM-SEG, and example_ct_sm (NIfTI, symlinked from the
 * shared data, never copied) with TotalSegmentator's muscle mask as the "reader".
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInstanceHeader } from '../../src/dicom/read.ts';
import { decodeMaskRle, writePhantomStudy, type PhantomOptions, type PhantomTruth } from '../../src/phantom/index.ts';
import { writeSeg } from '../../src/report/index.ts';
import { dataPath } from './env.ts';

export const EXAMPLE_CT_SM = dataPath('totalsegmentator_example_ct_sm', 'example_ct_sm.nii.gz');
export const EXAMPLE_MUSCLE = dataPath('totalsegmentator_example_ct_sm', 'example_seg_tissue_types', 'skeletal_muscle.nii.gz');

/** A phantom study in `directory` and a SEG of its T12 truth mask (optionally changed by `edit`). */
export async function writePhantomCase(
  directory: string,
  options: PhantomOptions,
  edit: (mask: Uint8Array, truth: PhantomTruth) => Uint8Array = (m) => m,
): Promise<{ truth: PhantomTruth; mask: Uint8Array; segPath: string }> {
  const written = await writePhantomStudy(join(directory, 'ct'), options);
  const { truth } = written;
  const sourcePath = join(directory, 'ct', truth.slices[truth.t12.sliceIndex!].fileName!);
  const source = await readInstanceHeader({ kind: 'file', path: sourcePath });
  const mask = edit(decodeMaskRle(truth.t12.muscleMask!), truth);
  const seg = writeSeg({
    source,
    level: { name: 'as-provided', sliceIndex: truth.t12.sliceIndex!, sopInstanceUid: source.sopInstanceUid, zMm: truth.t12.zMm!, rule: 'reader', method: 'reader', confidence: null, warnings: [] },
    segmenter: { id: 'reader', version: '1' },
    flags: [],
    huWindow: { lowerHu: -29, upperHu: 150 },
    mask,
    options: { revision: 'reader' },
  });
  const segPath = join(directory, 'reader-seg.dcm');
  writeFileSync(segPath, seg.bytes);
  return { truth, mask, segPath };
}

/** example_ct_sm as a NIfTI case, symlinked; `caseJson` written when given. */
export function linkExampleCase(directory: string, caseJson?: object, mask = EXAMPLE_MUSCLE): void {
  mkdirSync(directory, { recursive: true });
  symlinkSync(EXAMPLE_CT_SM, join(directory, 'ct.nii.gz'));
  symlinkSync(mask, join(directory, 'mask.nii.gz'));
  if (caseJson) writeFileSync(join(directory, 'case.json'), JSON.stringify(caseJson));
}
