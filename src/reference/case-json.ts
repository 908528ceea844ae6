/** The optional case.json of a reference case: the reader's slice, the label, the stated area. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CtMuscleError } from '../errors.ts';

const caseJsonSchema = z
  .object({
    sliceSopInstanceUid: z.string().min(1).optional(),
    sliceIndex: z.number().int().nonnegative().optional(),
    label: z.number().int().positive().optional(),
    areaCm2: z.number().positive().optional(),
  })
  .strict();

export type CaseJson = z.infer<typeof caseJsonSchema>;

/** The case.json at `path`, or {} when there is none. */
export async function readCaseJson(path: string): Promise<CaseJson> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CtMuscleError('E_IO', `Cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CtMuscleError('E_REFERENCE_INVALID', `${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = caseJsonSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CtMuscleError('E_REFERENCE_INVALID', `${path}: ${problems}`);
  }
  return parsed.data;
}
