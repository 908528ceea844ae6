/**
 * Who may store to the node: a bearer token or HTTP basic credentials, compared in constant
 * time. A node bound to loopback alone may run without credentials; one reachable from the
 * network must have them (checked when the server starts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Credentials {
  bearerTokens?: string[];
  basic?: Array<{ user: string; password: string }>;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function hasCredentials(credentials: Credentials | undefined): boolean {
  return (credentials?.bearerTokens?.length ?? 0) > 0 || (credentials?.basic?.length ?? 0) > 0;
}

/** True when the request carries one of the configured credentials, or when none are configured. */
export function isAuthorized(headers: IncomingHttpHeaders, credentials: Credentials | undefined): boolean {
  if (!hasCredentials(credentials)) return true;
  // Exactly "<scheme> <credentials>": anything after the credentials (`Bearer <token> junk`) is refused.
  const match = /^([A-Za-z]+) +([^\s]+)$/.exec(headers.authorization ?? '');
  if (!match) return false;
  const [, scheme, value] = match;
  if (/^bearer$/i.test(scheme)) return (credentials!.bearerTokens ?? []).some((token) => same(token, value));
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    return (credentials!.basic ?? []).some((c) => same(c.user, user) && same(c.password, password));
  }
  return false;
}
