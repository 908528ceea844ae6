/**
 * The manifest an adaptation writes beside its decoder (DIR/models.json): the base pipeline's
 * encoder (and detector) by absolute path with their sha256, the adapted decoder, and a pipeline
 * with the new id and version. `segmentation.models.manifest` can point at it as it is; the
 * pipeline id and version then travel into every SEG and SR like any other model's.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelPath, parseManifest, sha256File, type ModelEntry, type ModelManifest, type PipelineEntry } from '../segment/models.ts';

export interface AdaptedModel {
  id: string;
  version: string;
  /** File name of the adapted decoder inside the output folder. */
  decoderFile: string;
  adaptation: NonNullable<ModelEntry['adaptation']>;
}

function absolute(manifest: ModelManifest, entry: ModelEntry): ModelEntry {
  return { ...entry, file: modelPath(manifest, entry) };
}

export async function writeAdaptedManifest(outDir: string, base: ModelManifest, basePipeline: PipelineEntry, adapted: AdaptedModel): Promise<{ path: string; manifest: ModelManifest; decoder: ModelEntry }> {
  const find = (id: string) => base.models.find((m) => m.id === id)!;
  const baseDecoder = find(basePipeline.decoder);
  const decoder: ModelEntry = {
    id: `${adapted.id}-decoder`,
    kind: baseDecoder.kind,
    version: adapted.version,
    file: adapted.decoderFile,
    sha256: await sha256File(join(outDir, adapted.decoderFile)),
    inputSize: baseDecoder.inputSize,
    ...(baseDecoder.license ? { license: baseDecoder.license } : {}),
    source: `ct-muscle-node adapt: ${baseDecoder.id}@${baseDecoder.version} fine-tuned on ${adapted.adaptation.trainingCases.length} site slice(s)`,
    adaptation: adapted.adaptation,
  };
  const models = [absolute(base, find(basePipeline.encoder)), decoder];
  if (basePipeline.detector) models.push(absolute(base, find(basePipeline.detector)));
  const pipeline: PipelineEntry = {
    id: adapted.id,
    version: adapted.version,
    encoder: basePipeline.encoder,
    decoder: decoder.id,
    detector: basePipeline.detector ?? null,
    description: `${basePipeline.id}@${basePipeline.version} with its mask decoder adapted to this site's slices (ct-muscle-node adapt).`,
  };
  const json = { manifestVersion: 1 as const, models, pipelines: [pipeline] };
  // Validate with the node's own parser before anyone points the configuration at it.
  const manifest = parseManifest(json, outDir);
  const path = join(outDir, 'models.json');
  await writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
  return { path, manifest, decoder };
}
