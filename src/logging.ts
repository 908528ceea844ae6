/**
 * Structured logs (winston, JSON lines) on stderr: stdout belongs to the commands' JSON output.
 * Patient-identifying values never go to info level; callers put UIDs and counts there, and
 * anything from the Patient module only at debug.
 */
import winston from 'winston';
import { describeError, isCtMuscleError } from './errors.ts';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const logger = winston.createLogger({
  level: process.env.CT_MUSCLE_NODE_LOG_LEVEL ?? 'warn',
  format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
  defaultMeta: { service: 'ct-muscle-node' },
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
});

export function setLogLevel(level: LogLevel): void {
  logger.level = level;
}

/**
 * Fields for a log line about a failure. A typed error keeps its message: those are written in
 * this project and carry codes, UIDs, paths and counts, never Patient-module values. Any other
 * error's message (a library's; dcmjs quotes the value it refuses, e.g. a PatientName over 64
 * characters) goes to debug only, and the line above debug names its class.
 */
export function errorLogFields(error: unknown): { code: string; message: string } {
  const described = describeError(error);
  if (isCtMuscleError(error)) return described;
  logger.debug('unexpected error detail', { code: described.code, message: described.message });
  const kind = error instanceof Error ? error.name : typeof error;
  return { code: described.code, message: `unexpected ${kind} (its message is logged at debug level only: it may quote input values)` };
}
