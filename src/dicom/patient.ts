/** Patient attributes the measurements use, read only when plausible: never guessed. */
import { numberValue } from './dataset-values.ts';
import type { InstanceHeader } from './types.ts';

/** The patient's height in metres when PatientSize holds a plausible one. */
export function patientHeightM(header: InstanceHeader): number | undefined {
  const size = numberValue(header.dataset, 'PatientSize');
  return size !== undefined && size > 0.5 && size < 2.6 ? size : undefined;
}
