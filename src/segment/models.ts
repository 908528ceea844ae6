/**
 * The model manifest (models/models.json): which ONNX files exist, their sha256, input size,
 * normalisation and version. The model id and version of every model that ran travel into each
 * result, so a changed model is always visible in the reports.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { CtMuscleError } from '../errors.ts';

export const MODEL_KINDS = ['sam2-encoder', 'sam2-decoder', 'sam-encoder', 'sam-decoder', 'yolo'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** How an adapted decoder was made (written by `ct-muscle-node adapt`; informative, not used to run it). */
const adaptationSchema = z.object({
  base: z.object({ id: z.string(), version: z.string(), sha256: z.string() }),
  trainingCases: z.array(z.string()),
  validationCases: z.array(z.string()),
  recipe: z.record(z.string(), z.unknown()),
  figures: z.record(z.string(), z.number().nullable()),
  createdAt: z.string(),
});

const modelSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(MODEL_KINDS),
  version: z.string().min(1),
  /** Relative to the manifest's folder unless absolute. */
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  inputSize: z.number().int().positive(),
  /** Per-channel mean/std in 0..255 units (SAM models); YOLO divides by 255 only. */
  mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
  std: z.tuple([z.number(), z.number(), z.number()]).optional(),
  resize: z.enum(['longest-side', 'stretch']).optional(),
  license: z.string().optional(),
  source: z.string().optional(),
  notes: z.string().optional(),
  adaptation: adaptationSchema.optional(),
});

const pipelineSchema = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  encoder: z.string().min(1),
  decoder: z.string().min(1),
  /** YOLO detector id; absent or null: the fallback box is always used. */
  detector: z.string().nullable().optional(),
  description: z.string().optional(),
});

const manifestSchema = z.object({
  manifestVersion: z.literal(1),
  models: z.array(modelSchema),
  pipelines: z.array(pipelineSchema),
});

export type ModelEntry = z.infer<typeof modelSchema>;
export type PipelineEntry = z.infer<typeof pipelineSchema>;
export type ModelManifest = z.infer<typeof manifestSchema> & { directory: string };

export function parseManifest(json: unknown, directory: string): ModelManifest {
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new CtMuscleError('E_MODEL_MANIFEST', `Invalid model manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const manifest = { ...parsed.data, directory };
  const ids = new Set<string>();
  for (const m of manifest.models) {
    if (ids.has(m.id)) throw new CtMuscleError('E_MODEL_MANIFEST', `Model id ${m.id} is listed twice.`);
    ids.add(m.id);
  }
  for (const p of manifest.pipelines) {
    for (const [role, id, kinds] of [
      ['encoder', p.encoder, ['sam2-encoder', 'sam-encoder']],
      ['decoder', p.decoder, ['sam2-decoder', 'sam-decoder']],
      ['detector', p.detector, ['yolo']],
    ] as const) {
      if (id === undefined || id === null) continue;
      const model = manifest.models.find((m) => m.id === id);
      if (!model) throw new CtMuscleError('E_MODEL_MANIFEST', `Pipeline ${p.id}: ${role} ${id} is not in the manifest.`);
      if (!(kinds as readonly string[]).includes(model.kind)) throw new CtMuscleError('E_MODEL_MANIFEST', `Pipeline ${p.id}: ${role} ${id} has kind ${model.kind}.`);
    }
  }
  return manifest;
}

export async function loadManifest(path: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CtMuscleError('E_MODEL_MANIFEST', `Cannot read model manifest ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CtMuscleError('E_MODEL_MANIFEST', `Model manifest ${path} is not JSON: ${(error as Error).message}`);
  }
  return parseManifest(json, dirname(resolve(path)));
}

export function modelPath(manifest: ModelManifest, model: ModelEntry): string {
  return isAbsolute(model.file) ? model.file : resolve(manifest.directory, model.file);
}

export function findModel(manifest: ModelManifest, id: string): ModelEntry {
  const model = manifest.models.find((m) => m.id === id);
  if (!model) throw new CtMuscleError('E_MODEL_MANIFEST', `Model ${id} is not in the manifest.`);
  return model;
}

export function findPipeline(manifest: ModelManifest, id: string): PipelineEntry {
  const pipeline = manifest.pipelines.find((p) => p.id === id);
  if (!pipeline) throw new CtMuscleError('E_MODEL_MANIFEST', `Model pipeline ${id} is not in the manifest (known: ${manifest.pipelines.map((p) => p.id).join(', ') || 'none'}).`);
  return pipeline;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/** Throws E_MODEL_FILE when the file is absent or its hash differs from the manifest. */
export async function verifyModelFile(manifest: ModelManifest, model: ModelEntry): Promise<string> {
  const path = modelPath(manifest, model);
  try {
    await access(path);
  } catch {
    throw new CtMuscleError('E_MODEL_FILE', `Model file for ${model.id} is missing: ${path} (see docs/models.md).`, { model: model.id, path });
  }
  const actual = await sha256File(path);
  if (actual !== model.sha256) {
    throw new CtMuscleError('E_MODEL_FILE', `Model file ${path} has sha256 ${actual}; the manifest expects ${model.sha256} for ${model.id}.`, { model: model.id, path });
  }
  return path;
}

/** True when every file of the pipeline is present (hashes not checked). */
export async function pipelineFilesPresent(manifest: ModelManifest, pipeline: PipelineEntry): Promise<boolean> {
  const ids = [pipeline.encoder, pipeline.decoder, ...(pipeline.detector ? [pipeline.detector] : [])];
  for (const id of ids) {
    try {
      await access(modelPath(manifest, findModel(manifest, id)));
    } catch {
      return false;
    }
  }
  return true;
}
