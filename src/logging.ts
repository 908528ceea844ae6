/**
 * Structured logs (winston, JSON lines) on stderr: stdout belongs to the commands' JSON output.
 * Patient-identifying values never go to info level; callers put UIDs and counts there, and
 * anything from the Patient module only at debug.
 */
import winston from 'winston';

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
