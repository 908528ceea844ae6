/** Skeletal-muscle segmenters behind one interface: the embedded anatomic default and the ONNX SAM/SAM2 (+ YOLO) path. */
export type { SegmentInput, SegmentResult, Segmenter, SegmentDiagnostics, SliceImage, Box, PromptInfo, Vec3 } from './types.ts';
export { anatomicSegmenter, segmentAnatomic, ANATOMIC_SEGMENTER_ID, ANATOMIC_SEGMENTER_VERSION } from './anatomic.ts';
export { createModelSegmenter, type ModelSegmenterOptions } from './model-segmenter.ts';
export { loadManifest, parseManifest, verifyModelFile, findPipeline, findModel, modelPath, pipelineFilesPresent, sha256File, MODEL_KINDS, type ModelManifest, type ModelEntry, type PipelineEntry, type ModelKind } from './models.ts';
export { loadSession, releaseSessions, type LoadedSession, type SessionOptions } from './onnx-session.ts';
export { fallbackBox, FALLBACK_BOX_HU } from './prompt.ts';
export { decodeYolo, yoloFormat, nms, iou, type Detection, type YoloFormat } from './yolo.ts';
export { samFamily, type SamFamily } from './sam.ts';
export { windowHu, samFrame, letterbox, resizeBilinear } from './preprocess.ts';
export { MIN_ISLAND_MM2, keepHuRange, finishMuscleMask } from './hu-rule.ts';
export { bodyParts, type BodyParts } from './body.ts';
export { chooseSegmenter, checkSegmentInput, modelSegmenterFor, sliceInput, type ModelsConfig, type SegmenterChoice } from './choose.ts';
