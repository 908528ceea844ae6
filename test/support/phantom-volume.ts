/** In-memory phantom study → CtVolume, through the same header scan, grouping and volume code as real input. */
import { scanBuffers } from '../../src/dicom/scan.ts';
import { groupIntoSeries } from '../../src/dicom/series.ts';
import { buildVolume } from '../../src/dicom/volume.ts';
import type { CtVolume } from '../../src/dicom/types.ts';
import { generatePhantomStudy, type PhantomOptions, type PhantomTruth } from '../../src/phantom/index.ts';

export async function phantomVolume(options: PhantomOptions): Promise<{ volume: CtVolume; truth: PhantomTruth }> {
  const { files, truth } = await generatePhantomStudy(options);
  const { headers, errors } = scanBuffers(files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
  if (errors.length > 0) throw new Error(`phantom files failed to parse: ${JSON.stringify(errors[0])}`);
  const groups = groupIntoSeries(headers);
  if (groups.length !== 1) throw new Error(`expected one phantom series, got ${groups.length}`);
  return { volume: await buildVolume(groups[0]), truth };
}
