/**
 * Intake over DICOMweb: the STOW-RS receiver mounted on the node's HTTP app. It gets the
 * `storeInstance` function (spool + assembly), never the spool itself, so any other receiver
 * (a DIMSE C-STORE SCP) is one more part with the same dependency.
 */
import type { Express } from 'express';
import type { Config } from '../config.ts';
import { stowRouter } from '../dicomweb/server/stow-receiver.ts';
import type { StoreInstance } from '../intake/store-instance.ts';
import { freeBytes } from '../io/durable-file.ts';
import type { NodeMetrics } from './metrics.ts';
import type { NodePart } from './part.ts';

export interface StowIntakeOptions {
  app: Express;
  config: Config;
  storeInstance: StoreInstance;
  metrics: NodeMetrics;
}

/** Whether the spool's file system has more than health.minFreeSpoolMb free (false when it cannot be told); /readyz uses the same threshold. */
export async function spoolHasRoom(config: Config): Promise<boolean> {
  try {
    return (await freeBytes(config.spoolDir)) > config.health.minFreeSpoolMb * 1024 * 1024;
  } catch {
    return false;
  }
}

export function createStowIntake({ app, config, storeInstance, metrics }: StowIntakeOptions): NodePart {
  app.use('/dicomweb', (req, res, next) => {
    res.on('finish', () => metrics.stowRequests.inc({ status: String(res.statusCode) }));
    next();
  });
  app.use(
    stowRouter({
      storeInstance,
      maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024,
      maxRequestBytes: config.server.maxRequestMb * 1024 * 1024,
      maxParts: config.server.maxParts,
      credentials: config.server.credentials,
      publicBaseUrl: config.server.publicBaseUrl ?? undefined,
      hasRoom: () => spoolHasRoom(config),
      retryAfterSeconds: config.disk.retryAfterSeconds,
    }),
  );
  // The routes live on the shared listener, which the http part opens and closes.
  return { name: 'stow-intake', start: async () => {}, stop: async () => {} };
}
