/**
 * "Low muscle" verdicts come only from cut-offs a site configures, each with its citation; none
 * are built in, because published cut-offs are level-, sex- and population-specific (most are
 * for L3, not T12).
 */
import { z } from 'zod';
import { CtMuscleError } from '../errors.ts';
import type { MuscleMeasurements, Verdict } from '../model/index.ts';

export const cutoffSchema = z
  .object({
    sex: z.enum(['M', 'F', 'any']),
    /** Vertebral level the cut-off was derived at, e.g. 'T12'. */
    level: z.string().min(1),
    smiBelow: z.number().positive().optional(),
    areaBelow: z.number().positive().optional(),
    citation: z.string().min(5),
  })
  .refine((c) => (c.smiBelow === undefined) !== (c.areaBelow === undefined), { message: 'exactly one of smiBelow or areaBelow' });

export type Cutoff = z.infer<typeof cutoffSchema>;

export function parseCutoffs(value: unknown): Cutoff[] {
  const parsed = z.array(cutoffSchema).safeParse(value ?? []);
  if (!parsed.success) throw new CtMuscleError('E_CONFIG_INVALID', `Invalid muscle cut-offs: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The first matching cut-off that can be evaluated; null when none applies (no verdict, not "normal"). */
export function lowMuscleVerdict(muscle: MuscleMeasurements, cutoffs: Cutoff[], level: string, sex: string | null | undefined): Verdict | null {
  if (muscle.pixelCount === 0) return null;
  for (const c of cutoffs) {
    if (c.level.toUpperCase() !== level.toUpperCase()) continue;
    if (c.sex !== 'any' && c.sex !== sex) continue;
    if (c.smiBelow !== undefined) {
      if (muscle.smiCm2PerM2 === null) continue;
      return { lowMuscle: muscle.smiCm2PerM2 < c.smiBelow, measure: 'smi', value: muscle.smiCm2PerM2, threshold: c.smiBelow, citation: c.citation };
    }
    if (c.areaBelow !== undefined) return { lowMuscle: muscle.areaCm2 < c.areaBelow, measure: 'area', value: muscle.areaCm2, threshold: c.areaBelow, citation: c.citation };
  }
  return null;
}
