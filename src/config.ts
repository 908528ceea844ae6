/**
 * Configuration: config/default.json, then a file given with --config, then environment
 * overrides (CT_MUSCLE_NODE__SECTION__KEY=value). Validated once at start; a bad value stops the
 * node with a message naming the key, never later in the middle of a job.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import { z } from 'zod';
import { CtMuscleError } from './errors.ts';
import { MEASUREMENT_SLICES, TARGET_LEVELS } from './model/index.ts';
import { hasCredentials, isLoopbackHost } from './dicomweb/server/auth.ts';
import { type SelectionRules, validateSelectionRules } from './intake/select-series.ts';
import { cutoffSchema } from './measure/cutoffs.ts';
import { EXECUTION_PROVIDERS } from './segment/types.ts';

const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../config/default.json', import.meta.url));
/** The model manifest shipped with the package, used when segmentation.models.manifest is null. */
export const PACKAGED_MODEL_MANIFEST = fileURLToPath(new URL('../models/models.json', import.meta.url));
export const ENV_PREFIX = 'CT_MUSCLE_NODE__';

const dicomWebTarget = z
  .object({
    url: z.string().url(),
    bearerToken: z.string().optional(),
    basic: z.object({ user: z.string(), password: z.string() }).strict().optional(),
  })
  .strict();

/** PS3.5 AE: 1–16 characters of the default repertoire, no backslash or control characters, not all spaces. */
const aeTitle = z
  .string()
  .max(16, 'AE titles have at most 16 characters')
  .regex(/^[\x20-\x5b\x5d-\x7e]*$/, 'AE titles use printable ASCII without a backslash')
  .refine((value) => value.trim().length > 0, 'an AE title cannot be empty or all spaces')
  .transform((value) => value.trim());

const ipAddress = z.string().refine((value) => isIP(value) !== 0, 'must be an IP address (host names are not resolved)');
const tcpPort = z.number().int().min(1).max(65535);

const dicomAeTarget = z
  .object({
    host: z.string().min(1),
    port: tcpPort,
    calledAeTitle: aeTitle,
    /** The node's AE title in the association; dimse.aeTitle when absent. */
    callingAeTitle: aeTitle.optional(),
  })
  .strict();

const knownAe = z
  .object({
    aeTitle,
    hosts: z.array(ipAddress).optional(),
    /** Where this AE receives C-STORE: results go back here when writeBack.toSendingAe is on. */
    returnTo: z.object({ host: z.string().min(1), port: tcpPort }).strict().optional(),
  })
  .strict();

const configSchema = z
  .object({
    logLevel: z.enum(['error', 'warn', 'info', 'debug']),
    selection: z.record(z.string(), z.unknown()),
    level: z.object({ target: z.enum(TARGET_LEVELS) }).strict(),
    segmentation: z
      .object({
        segmenter: z.enum(['default', 'sam']),
        models: z
          .object({
            /** null: the manifest shipped with the package (models/models.json). */
            manifest: z.string().min(1).nullable(),
            pipeline: z.string().min(1),
            executionProviders: z.array(z.enum(EXECUTION_PROVIDERS)).min(1),
            threads: z.number().int().min(0).max(256),
            scoreThreshold: z.number().min(0).max(1),
            iouThreshold: z.number().min(0).max(1),
            verifyHashes: z.boolean(),
          })
          .strict(),
        crossCheck: z.boolean(),
      })
      .strict(),
    adaptation: z
      .object({
        /** The interpreter that has torch and onnx (Debian: python3-torch, python3-onnx). */
        python: z.string().min(1),
        /** Fewer training cases are refused (the paper used 16). */
        minTrainingCases: z.number().int().min(1),
        epochs: z.number().int().min(1).max(10_000),
        /** Stop after this many epochs without a better validation Dice (0: never). */
        patience: z.number().int().min(0),
        learningRate: z.number().positive(),
        batchSize: z.number().int().min(1),
      })
      .strict(),
    measurement: z
      .object({
        areaRangeCm2: z.tuple([z.number().min(0), z.number().positive()]).refine(([lo, hi]) => lo < hi, 'the lower bound must be below the upper one'),
        minAgreementDice: z.number().min(0).max(1),
        maxAreaDifference: z.number().min(0),
        cutoffs: z.array(cutoffSchema),
        slices: z.enum(MEASUREMENT_SLICES),
      })
      .strict(),
    output: z.object({ dir: z.string().min(1), overlay: z.boolean(), notMeasuredSr: z.boolean() }).strict(),
    server: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(0).max(65535),
        publicBaseUrl: z.string().url().nullable(),
        credentials: z
          .object({
            bearerTokens: z.array(z.string().min(16, 'bearer tokens must have at least 16 characters').regex(/^\S+$/, 'bearer tokens must not contain white space')),
            basic: z.array(
              z
                .object({
                  user: z.string().min(1).regex(/^[^\s:]+$/, 'basic user names must not contain white space or ":"'),
                  password: z.string().min(8).refine((p) => p.trim().length >= 8, 'basic passwords must have at least 8 characters that are not white space'),
                })
                .strict(),
            ),
          })
          .strict(),
        maxInstanceMb: z.number().positive(),
        maxRequestMb: z.number().positive(),
        maxParts: z.number().int().positive(),
      })
      .strict(),
    /** Per-instance limits (src/dicom/limits.ts): what is read at all, and how far a Deflated dataset may inflate. */
    decode: z
      .object({
        /** Worker threads decoding a compressed series' slices at once; 0: one per core. */
        workers: z.number().int().min(0).max(256),
        /**
         * Instances put on the level finder's working grid as they are spooled, at most this many
         * at once, in the background (node roles all and intake); 0: off, the analysis decodes them all.
         */
        whileArriving: z.number().int().min(0).max(64),
        /**
         * Milliseconds without a new instance arriving before that background work takes the next
         * one: a study sent in one burst is received at full speed and put on the grid in the
         * quiet period after it. 0: alongside the receivers.
         */
        whileArrivingLullMs: z.number().int().min(0).max(60_000),
        /**
         * How a reversible JPEG 2000 series' slices are put on the level finder's working grid:
         * "full" (2 × 2 means of each slice decoded in full, as an uncompressed series) or "half"
         * (each slice decoded at half resolution: about twice as fast, but the level finder sees
         * slightly other values, so its slice may differ by one from "full"). docs/configuration.md.
         */
        levelGrid: z.enum(['full', 'half']),
      })
      .strict(),
    limits: z
      .object({
        maxInstanceMb: z.number().positive(),
        maxInflatedMb: z.number().positive(),
        headerAllowanceMb: z.number().positive(),
      })
      .strict()
      .refine((l) => l.headerAllowanceMb <= l.maxInflatedMb, { message: 'headerAllowanceMb must not exceed maxInflatedMb', path: ['headerAllowanceMb'] }),
    spoolDir: z.string().min(1),
    /**
     * Node roles all and worker: at start, run the pipeline once on a generated phantom in the
     * background (src/node/warm-up.ts), so that the first study meets compiled code.
     */
    warmUp: z.boolean(),
    queue: z
      .object({
        /** sqlite: the embedded file (one process); postgres: a shared database (several processes). */
        backend: z.enum(['sqlite', 'postgres']),
        path: z.string().min(1),
        /** postgres://user@host:5432/db; the password belongs in CT_MUSCLE_QUEUE_URL or PGPASSWORD, not here. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'queue.url must be a postgres:// URL')
          .nullable(),
        poolSize: z.number().int().min(1).max(200),
        /** A claimed job is another worker's to take once its worker stops renewing it this long. */
        leaseSeconds: z.number().int().min(5).max(86_400),
        concurrency: z.number().int().min(1).max(64),
        maxAttempts: z.number().int().min(1),
        baseDelayMs: z.number().int().min(0),
        maxDelayMs: z.number().int().min(0),
      })
      .strict(),
    assembly: z.object({ quietPeriodSeconds: z.number().min(0) }).strict(),
    disk: z.object({ retryAfterSeconds: z.number().int().min(1) }).strict(),
    writeBack: z
      .object({
        destination: z.union([dicomWebTarget, dicomAeTarget]).nullable(),
        /** Results of a study received over DIMSE go back to the AE that sent it, when that AE is in dimse.callingAes with returnTo. */
        toSendingAe: z.boolean().optional(),
        deadlineHours: z.number().positive(),
      })
      .strict(),
    dimse: z
      .object({
        enabled: z.boolean(),
        aeTitle,
        host: z.string().min(1),
        port: z.number().int().min(0).max(65535),
        callingAes: z.array(knownAe),
        maxAssociations: z.number().int().min(1).max(1000),
        maxPduBytes: z.number().int().min(4096).max(16 * 1024 * 1024),
        associationTimeoutSeconds: z.number().positive(),
        idleTimeoutSeconds: z.number().positive(),
        minFreeSpaceMb: z.number().min(0),
      })
      .strict(),
    review: z
      .object({
        /** VerifyingOrganization of SRs verified on the review page. */
        organization: z.string().min(1).max(64),
        /** How long a sign-in on the review page lasts. */
        sessionHours: z.number().positive().max(24 * 30),
        /** Largest edited SEG the page accepts (MB). */
        maxUploadMb: z.number().positive(),
      })
      .strict(),
    poll: z
      .object({
        source: dicomWebTarget.nullable(),
        cron: z.string().refine((value) => cron.validate(value), 'must be a valid cron expression (node-cron syntax)'),
        lookbackDays: z.number().min(0),
        overlapDays: z.number().min(0),
        pageSize: z.number().int().min(1).max(10_000),
        maxPages: z.number().int().min(1),
      })
      .strict(),
    health: z
      .object({
        /** This many failed polls in a row make /readyz answer not ready. */
        pollFailuresNotReady: z.number().int().min(1),
        /** Free space on the spool's file system below this makes /readyz answer not ready. */
        minFreeSpoolMb: z.number().min(0),
        /** Free space below this logs a warning (before intake starts refusing). */
        warnFreeSpoolMb: z.number().min(0),
      })
      .strict(),
    retention: z
      .object({
        /** Delete a study's received instances this many days after its results were written back; null: keep. */
        spoolDaysAfterWriteBack: z.number().min(0).nullable(),
        /** Delete a study's output folder this many days after it was written; null: keep. */
        resultsDays: z.number().min(0).nullable(),
        intervalMinutes: z.number().positive(),
      })
      .strict(),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
export interface Config extends Omit<RawConfig, 'selection'> {
  selection: SelectionRules;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else (arrays included) replaces. */
export function deepMerge(base: Json, override: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Json, value) : value;
  }
  return out;
}

function readJsonFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CtMuscleError('E_CONFIG_INVALID', `Cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error('the top level must be an object');
    return parsed;
  } catch (error) {
    throw new CtMuscleError('E_CONFIG_INVALID', `Configuration file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseEnvValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * CT_MUSCLE_NODE__LEVEL__TARGET=L3 → {level: {target: 'L3'}}. Segments match keys case-insensitively,
 * ignoring underscores, so SELECTION__MAX_AXIAL_TILT_DEG reaches selection.maxAxialTiltDeg.
 */
export function envOverrides(env: NodeJS.ProcessEnv, known: Json): Json {
  const out: Json = {};
  const canonical = (s: string) => s.replace(/_/g, '').toLowerCase();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    let target = out;
    let shape: unknown = known;
    segments.forEach((segment, i) => {
      const keys = isObject(shape) ? Object.keys(shape) : [];
      const key = keys.find((k) => canonical(k) === canonical(segment)) ?? segment.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      shape = isObject(shape) ? shape[key] : undefined;
      if (i === segments.length - 1) target[key] = parseEnvValue(value);
      else target = (target[key] = isObject(target[key]) ? target[key] : {}) as Json;
    });
  }
  return out;
}

function formatZodError(error: z.ZodError, origin: string): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .map((line) => `${line} (${origin})`)
    .join('; ');
}

export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const defaults = readJsonFile(DEFAULT_CONFIG_PATH);
  const fromFile = options.file ? readJsonFile(options.file) : {};
  const merged = deepMerge(deepMerge(defaults, fromFile), envOverrides(options.env ?? process.env, defaults));
  const origin = options.file ? `defaults + ${options.file} + environment` : 'defaults + environment';
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new CtMuscleError('E_CONFIG_INVALID', `Invalid configuration: ${formatZodError(parsed.error, origin)}`);
  let selection: SelectionRules;
  try {
    selection = validateSelectionRules(parsed.data.selection);
  } catch (error) {
    throw new CtMuscleError('E_CONFIG_INVALID', `Invalid configuration: ${(error as Error).message} (${origin})`);
  }
  const { server } = parsed.data;
  if (!isLoopbackHost(server.host) && !hasCredentials(server.credentials)) {
    throw new CtMuscleError(
      'E_CONFIG_INVALID',
      `Invalid configuration: server.host ${server.host} is reachable from the network, so server.credentials must hold a bearer token or basic credentials (${origin}).`,
    );
  }
  const { dimse } = parsed.data;
  if (dimse.enabled && !isLoopbackHost(dimse.host) && dimse.callingAes.length === 0) {
    throw new CtMuscleError(
      'E_CONFIG_INVALID',
      `Invalid configuration: dimse.host ${dimse.host} is reachable from the network, so dimse.callingAes must list the AE titles allowed to send (${origin}).`,
    );
  }
  return { ...parsed.data, selection };
}
