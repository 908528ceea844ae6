/**
 * Who may use the review page: the STOW-RS credentials (config.server.credentials) — the same
 * bearer token or basic user in the Authorization header, or a session cookie from signing in
 * with them. A node without credentials (allowed on loopback only, see config.ts) is open, as its
 * STOW-RS endpoint is. Every POST must carry a CSRF token bound to the session or identity.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { hasCredentials, isAuthorized, type Credentials } from '../dicomweb/server/auth.ts';

export interface Identity {
  /** 'open', 'basic:<user>', 'bearer', or 'session:<identity it was opened with>'. */
  key: string;
  /** The person's name when the credentials name one (a basic user); null for a token or an open node. */
  user: string | null;
}

export const SESSION_COOKIE = 'ctmn_review';
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

export interface PageAuth {
  /** The identity of a request, or null when it is not authenticated. */
  identify(req: Request): Identity | null;
  csrfToken(identity: Identity): string;
  csrfValid(req: Request, identity: Identity, token: string | undefined): boolean;
  /** Check sign-in form values; on success a Set-Cookie header value. */
  signIn(form: { user?: string; password?: string; token?: string }): { cookie: string; identity: Identity } | null;
  signOut(req: Request): string;
  /** Anonymous token for the sign-in form itself (login CSRF). */
  readonly signInToken: string;
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function basicUser(authorization: string | undefined): string | null {
  const [scheme, value = ''] = (authorization ?? '').split(/\s+/, 2);
  if (!/^basic$/i.test(scheme)) return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.slice(0, Math.max(0, decoded.indexOf(':')));
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Sessions live in memory: a restarted node asks people to sign in again, which is acceptable. */
export function createPageAuth(credentials: Credentials, options: { sessionHours: number; secure?: boolean }): PageAuth {
  const secret = randomBytes(32);
  const sessions = new Map<string, { identity: Identity; expires: number }>();
  const sign = (text: string) => createHmac('sha256', secret).update(text).digest('base64url');
  const open = !hasCredentials(credentials);

  function fromSession(req: Request): { id: string; identity: Identity } | null {
    const id = cookieValue(req, SESSION_COOKIE);
    const session = id ? sessions.get(id) : undefined;
    if (!id || !session) return null;
    if (session.expires < Date.now()) {
      sessions.delete(id);
      return null;
    }
    return { id, identity: session.identity };
  }

  return {
    identify(req) {
      if (open) return { key: 'open', user: null };
      if (req.headers.authorization && isAuthorized(req.headers, credentials)) {
        const user = basicUser(req.headers.authorization);
        return user ? { key: `basic:${user}`, user } : { key: 'bearer', user: null };
      }
      return fromSession(req)?.identity ?? null;
    },
    csrfToken(identity) {
      return sign(`csrf:${identity.key}`);
    },
    csrfValid(req, identity, token) {
      // A browser names the page's origin on a POST: one from another site is refused outright.
      const origin = req.headers.origin;
      if (origin && origin !== 'null' && new URL(origin).host !== req.headers.host) return false;
      return typeof token === 'string' && sameText(token, sign(`csrf:${identity.key}`));
    },
    signIn(form) {
      const headers = form.token ? { authorization: `Bearer ${form.token}` } : { authorization: `Basic ${Buffer.from(`${form.user ?? ''}:${form.password ?? ''}`).toString('base64')}` };
      if (open || !isAuthorized(headers, credentials)) return null;
      const base: Identity = form.token ? { key: 'bearer', user: null } : { key: `basic:${form.user}`, user: form.user ?? null };
      const identity: Identity = { key: `session:${base.key}`, user: base.user };
      const id = randomBytes(24).toString('base64url');
      const maxAge = Math.round(options.sessionHours * 3600);
      sessions.set(id, { identity: { ...identity, key: `${identity.key}:${id}` }, expires: Date.now() + maxAge * 1000 });
      const cookie = `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${options.secure ? '; Secure' : ''}`;
      return { cookie, identity: sessions.get(id)!.identity };
    },
    signOut(req) {
      const session = fromSession(req);
      if (session) sessions.delete(session.id);
      return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
    },
    signInToken: sign('sign-in'),
  };
}

/** Express middleware: the identity on res.locals, or 401 (JSON for the API, the sign-in page otherwise). */
export function requireIdentity(auth: PageAuth, signInPage: (req: Request) => string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const identity = auth.identify(req);
    if (identity) {
      res.locals.identity = identity;
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Basic realm="ct-muscle-node review"');
    if (req.path.startsWith('/api/')) res.json({ code: 'E_UNAUTHORIZED', message: 'Credentials are required: the node\'s bearer token or basic credentials, or sign in.' });
    else res.type('html').send(signInPage(req));
  };
}
