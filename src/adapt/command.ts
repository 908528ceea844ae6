/** `ct-muscle-node adapt`: REF folders + configuration → adaptDecoder, progress as JSON lines on stderr. */
import { PACKAGED_MODEL_MANIFEST, type Config } from '../config.ts';
import { loadManifest } from '../segment/models.ts';
import { adaptDecoder, type AdaptSummary } from './adapt.ts';
import { checkCaseCounts } from './checks.ts';
import { readAdaptSlices } from './reference-slices.ts';

export interface AdaptCliOptions {
  train: string;
  val: string;
  out: string;
  pipeline?: string;
  id?: string;
  modelVersion?: string;
  epochs?: number;
  patience?: number;
}

export async function adaptFromReferences(options: AdaptCliOptions, config: Config, progress = (event: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(event)}\n`)): Promise<AdaptSummary> {
  const { adaptation, segmentation } = config;
  const train = await readAdaptSlices(options.train, (id) => progress({ event: 'case-read', split: 'train', case: id }));
  // Refuse a too-small training set before reading the validation cases.
  checkCaseCounts(train.length, 1, adaptation.minTrainingCases);
  const val = await readAdaptSlices(options.val, (id) => progress({ event: 'case-read', split: 'val', case: id }));
  const manifest = await loadManifest(segmentation.models.manifest ?? PACKAGED_MODEL_MANIFEST);
  return adaptDecoder({
    train,
    val,
    outDir: options.out,
    manifest,
    pipeline: options.pipeline ?? segmentation.models.pipeline,
    id: options.id,
    version: options.modelVersion,
    epochs: options.epochs ?? adaptation.epochs,
    patience: options.patience ?? adaptation.patience,
    lr: adaptation.learningRate,
    batch: adaptation.batchSize,
    minTrainingCases: adaptation.minTrainingCases,
    python: adaptation.python,
    threads: segmentation.models.threads || 2,
    thresholds: { scoreThreshold: segmentation.models.scoreThreshold, iouThreshold: segmentation.models.iouThreshold },
    onProgress: progress,
  });
}
