/**
 * The PostgreSQL queue's URL: where it comes from (CT_MUSCLE_QUEUE_URL before queue.url) and how
 * it is shown (without its password). No driver here, so a SQLite node never loads one.
 */
import { CtMuscleError } from '../errors.ts';

/** The URL without its password (postgres://user:***@host:port/db), for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable queue.url)';
  }
}

/** Remove a URL's password from any text (a driver message may quote the connection string). */
export function redactIn(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // not a URL: nothing of it can be in the text
  }
  return password ? text.split(password).join('***') : text;
}

/** The queue URL: the environment's CT_MUSCLE_QUEUE_URL wins over queue.url, so the secret stays out of config files. */
export function queueUrl(configured: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = env.CT_MUSCLE_QUEUE_URL ?? configured;
  if (!url) throw new CtMuscleError('E_CONFIG_INVALID', 'queue.backend is "postgres" but neither queue.url nor CT_MUSCLE_QUEUE_URL names the database (postgres://user@host:5432/db).');
  return url;
}
