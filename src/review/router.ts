/**
 * The status and review page (`/`) as an Express router: the study list with live refresh and
 * dead letters, one page per study with its pictures, evidence and files, and the review actions.
 * Everything it needs is passed in, so the node composes it like its other parts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import type { Credentials } from '../dicomweb/server/auth.ts';
import { CtMuscleError, describeError, isCtMuscleError } from '../errors.ts';
import { accept, chooseSlice, correct, reject, type ActionDeps, type OutputFileRef, type Reviewer } from './actions.ts';
import { basisFor } from './basis.ts';
import { layout, listPage, signInPage, studyPage } from './html.ts';
import { CSRF_FIELD, CSRF_HEADER, createPageAuth, requireIdentity, type Identity, type PageAuth } from './page-auth.ts';
import { axialPng, reformatPng } from './picture-files.ts';
import type { ReviewRecord, ReviewStore } from './review-store.ts';
import { analysisJobs, checkStudyUid, currentCorrection, deadLetters, listStudies, queueAgain, readResultJson, studyRow, type JobStore, type StudyRow } from './studies.ts';

export interface ReviewRouterDeps {
  jobStore: JobStore;
  reviews: ReviewStore;
  config: { credentials: Credentials; organization: string; sessionHours: number; maxUploadMb: number; spoolDir: string; secureCookies?: boolean };
  outputsDir: string;
  requeue(studyInstanceUid: string, sliceSopInstanceUid?: string): Promise<unknown>;
  writeBack(studyInstanceUid: string, files: OutputFileRef[]): Promise<void>;
  logger: { info(message: string, meta?: Record<string, unknown>): void; warn(message: string, meta?: Record<string, unknown>): void };
}

const ASSETS = fileURLToPath(new URL('../../assets/review/', import.meta.url));
const STATUS_OF: Record<string, number> = { E_UNAUTHORIZED: 401, E_CSRF: 403, E_STUDY_NOT_FOUND: 404, E_REVIEW_STATE: 409 };

function sendError(res: Response, error: unknown): void {
  const { code, message } = describeError(error);
  res.status(isCtMuscleError(error) ? (STATUS_OF[code] ?? 422) : 500).json({ code, message });
}

function filterRows(rows: StudyRow[], query: Request['query']): StudyRow[] {
  const { state, flag, review } = query as Record<string, string | undefined>;
  return rows.filter((r) => (!state || r.state === state) && (!review || r.review === review) && (!flag || (flag === 'flagged') === r.flags.length > 0));
}

interface StudyContext {
  row: StudyRow;
  json: Awaited<ReturnType<typeof readResultJson>>;
  records: ReviewRecord[];
  since: ReviewRecord[];
  correction: ReturnType<typeof currentCorrection>;
}

async function studyContext(deps: ReviewRouterDeps, uid: string): Promise<StudyContext> {
  const jobs = analysisJobs(await deps.jobStore.list()).get(uid);
  if (!jobs) throw new CtMuscleError('E_STUDY_NOT_FOUND', `The node has no job for study ${uid}.`);
  const records = await deps.reviews.forStudy(uid);
  const doneAt = jobs.done?.updatedAt ?? null;
  const since = records.filter((r) => doneAt === null || r.at >= doneAt);
  const row = await studyRow(uid, jobs, records, deps.outputsDir);
  const json = row.state === 'measured' || (jobs.done && row.state !== 'not measured') ? await readResultJson(deps.outputsDir, uid) : null;
  return { row, json: json?.measurements ? json : null, records, since, correction: currentCorrection(records, doneAt) };
}

async function basisOf(deps: ReviewRouterDeps, ctx: StudyContext) {
  if (!ctx.json) throw new CtMuscleError('E_REVIEW_STATE', `Study ${ctx.row.studyInstanceUid} has no measured result to review.`);
  return basisFor({ spoolDir: deps.config.spoolDir, outputsDir: deps.outputsDir }, ctx.json, ctx.correction, ctx.since);
}

function reviewerOf(identity: Identity, body: Record<string, unknown>): Reviewer {
  const typed = typeof body.observerName === 'string' ? body.observerName.trim() : '';
  const name = identity.user ?? typed;
  if (!name) throw new CtMuscleError('E_REVIEW_STATE', 'Give your name: the verifying observer must be a person.');
  return { name: name.slice(0, 64), authenticatedAs: identity.key };
}

function filesOf(ctx: StudyContext): Array<{ name: string; href: string }> {
  const uid = ctx.row.studyInstanceUid;
  const files = ctx.json ? ['seg.dcm', 'sr.dcm', 'result.json'].map((name) => ({ name, href: `/studies/${uid}/files/${name}` })) : [];
  for (const r of ctx.records) {
    for (const key of ['srPath', 'editedSegPath']) {
      const path = r.detail[key];
      if (typeof path === 'string') files.push({ name: `${r.action}: ${path.split('/').at(-1)}`, href: `/studies/${uid}/files/review/${path.split('/').at(-1)}` });
    }
  }
  return files;
}

function pageRoutes(router: Router, deps: ReviewRouterDeps, auth: PageAuth): void {
  const user = (res: Response) => (res.locals.identity as Identity).user;
  const csrf = (res: Response) => auth.csrfToken(res.locals.identity as Identity);
  router.get('/', async (req, res) => {
    const rows = filterRows(await listStudies(deps.jobStore, deps.reviews, deps.outputsDir), req.query);
    res.type('html').send(layout('Studies', csrf(res), listPage(rows, await deadLetters(deps.jobStore)), user(res)));
  });
  router.get('/api/studies', async (req, res) => {
    res.json({ studies: filterRows(await listStudies(deps.jobStore, deps.reviews, deps.outputsDir), req.query), deadLetters: await deadLetters(deps.jobStore) });
  });
  router.get('/studies/:uid', async (req, res) => {
    try {
      const ctx = await studyContext(deps, checkStudyUid(req.params.uid));
      const view = { row: ctx.row, json: ctx.json, kind: ctx.json ? (ctx.correction ? 'corrected' : 'original') : null, records: ctx.records, files: filesOf(ctx), askName: user(res) === null } as const;
      res.type('html').send(layout(`Study ${ctx.row.studyInstanceUid}`, csrf(res), studyPage(view), user(res)));
    } catch (error) {
      res.status(404).type('html').send(layout('Not found', csrf(res), `<p class="error">${describeError(error).message.replace(/</g, '&lt;')}</p>`, user(res)));
    }
  });
  router.get('/api/studies/:uid', async (req, res) => {
    try {
      const ctx = await studyContext(deps, checkStudyUid(req.params.uid));
      res.json({ study: ctx.row, result: ctx.json, reviews: ctx.records, correction: ctx.correction });
    } catch (error) {
      sendError(res, error);
    }
  });
}

function pictureRoutes(router: Router, deps: ReviewRouterDeps): void {
  router.get('/studies/:uid/axial.png', async (req, res) => {
    try {
      const uid = checkStudyUid(req.params.uid);
      const basis = await basisOf(deps, await studyContext(deps, uid));
      res.type('png').set('Cache-Control', 'no-store').send(await axialPng(deps.outputsDir, uid, basis));
    } catch (error) {
      sendError(res, error);
    }
  });
  const reformat = async (uid: string) => {
    const ctx = await studyContext(deps, uid);
    const basis = await basisOf(deps, ctx);
    return reformatPng(deps.outputsDir, uid, basis, ctx.json?.level.evidence?.vertebrae ?? []);
  };
  router.get('/studies/:uid/reformat.png', async (req, res) => {
    try {
      res.type('png').set('Cache-Control', 'no-store').send((await reformat(checkStudyUid(req.params.uid))).png);
    } catch (error) {
      sendError(res, error);
    }
  });
  router.get('/api/studies/:uid/reformat', async (req, res) => {
    try {
      res.json((await reformat(checkStudyUid(req.params.uid))).meta);
    } catch (error) {
      sendError(res, error);
    }
  });
  router.get(/^\/studies\/([0-9.]+)\/files\/((?:review\/)?[A-Za-z0-9._-]+\.(?:dcm|json))$/, (req, res) => {
    const [uid, name] = [checkStudyUid(String(req.params[0])), String(req.params[1])];
    res.sendFile(join(deps.outputsDir, uid, name), { dotfiles: 'deny', headers: { 'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/dicom' } }, (error) => {
      if (error && !res.headersSent) res.status(404).json({ code: 'E_IO', message: `No file ${name} for study ${uid}.` });
    });
  });
}

function actionRoutes(router: Router, deps: ReviewRouterDeps, auth: PageAuth): void {
  const actionDeps: ActionDeps = { outputsDir: deps.outputsDir, reviews: deps.reviews, organization: deps.config.organization, writeBack: deps.writeBack, requeue: (uid, sop) => deps.requeue(uid, sop) };
  const guarded = (handler: (req: Request, identity: Identity) => Promise<unknown>) => async (req: Request, res: Response) => {
    const identity = res.locals.identity as Identity;
    const token = req.get(CSRF_HEADER) ?? (req.body as Record<string, string> | undefined)?.[CSRF_FIELD];
    if (!auth.csrfValid(req, identity, token)) {
      sendError(res, new CtMuscleError('E_CSRF', 'The request carries no valid CSRF token (or comes from another origin); nothing was changed.'));
      return;
    }
    try {
      const outcome = await handler(req, identity);
      deps.logger.info('review action', { path: req.path, by: identity.key });
      res.json({ ok: true, outcome });
    } catch (error) {
      const { code, message } = describeError(error);
      deps.logger.warn('review action refused', { path: req.path, code, reason: message });
      sendError(res, error);
    }
  };
  const body = (req: Request) => (typeof req.body === 'object' && req.body && !Buffer.isBuffer(req.body) ? (req.body as Record<string, unknown>) : {});
  const withBasis = async (req: Request) => {
    const uid = checkStudyUid(String(req.params.uid));
    return { uid, basis: await basisOf(deps, await studyContext(deps, uid)) };
  };
  router.post('/api/studies/:uid/accept', guarded(async (req, identity) => {
    const { uid, basis } = await withBasis(req);
    return accept(actionDeps, uid, basis, reviewerOf(identity, body(req)));
  }));
  router.post('/api/studies/:uid/reject', guarded(async (req, identity) => {
    const { uid, basis } = await withBasis(req);
    return reject(actionDeps, uid, basis, reviewerOf(identity, body(req)), String(body(req).reason ?? ''));
  }));
  router.post('/api/studies/:uid/slice', guarded(async (req, identity) => {
    const { uid, basis } = await withBasis(req);
    return chooseSlice(actionDeps, uid, basis, reviewerOf(identity, body(req)), Number(body(req).sliceIndex));
  }));
  router.post('/api/studies/:uid/correct', guarded(async (req, identity) => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new CtMuscleError('E_NOT_SEG', 'Send the edited SEG as the request body (Content-Type application/dicom).');
    const { uid, basis } = await withBasis(req);
    const reviewer = reviewerOf(identity, { observerName: req.get('x-observer-name') ? decodeURIComponent(req.get('x-observer-name')!) : '' });
    return correct(actionDeps, uid, basis, reviewer, new Uint8Array(req.body));
  }));
  router.post('/api/jobs/:id/requeue', guarded(async (req) => queueAgain(deps.jobStore, String(req.params.id))));
}

function signInRoutes(router: Router, auth: PageAuth): void {
  router.post('/login', (req, res) => {
    const form = (req.body ?? {}) as Record<string, string>;
    const signed = form[CSRF_FIELD] === auth.signInToken ? auth.signIn(form) : null;
    if (!signed) {
      res.status(401).type('html').send(signInPage(auth.signInToken, true));
      return;
    }
    res.set('Set-Cookie', signed.cookie).redirect(303, '/');
  });
}

export function createReviewRouter(deps: ReviewRouterDeps): Router {
  const auth = createPageAuth(deps.config.credentials, { sessionHours: deps.config.sessionHours, secure: deps.config.secureCookies });
  const router = express.Router();
  router.get('/assets/:name', async (req, res) => {
    const name = req.params.name;
    if (!['review.js', 'review.css'].includes(name)) return void res.status(404).end();
    res.type(name.endsWith('.js') ? 'text/javascript' : 'text/css').send(await readFile(join(ASSETS, name)));
  });
  router.use(['/login'], express.urlencoded({ extended: false, limit: '16kb' }));
  signInRoutes(router, auth);
  // Only the page's own paths: the node's other routes (/dicomweb, /healthz, /metrics) keep theirs.
  const isPagePath = (path: string) => path === '/' || /^\/(?:studies|api\/studies|api\/jobs)(?:\/|$)/.test(path);
  const protect = requireIdentity(auth, () => signInPage(auth.signInToken, false));
  router.use((req, res, next) => {
    if (!isPagePath(req.path)) return next();
    res.set({ 'Content-Security-Policy': "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'", 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' });
    protect(req, res, next);
  });
  router.use('/api/studies/:uid/correct', express.raw({ type: () => true, limit: `${deps.config.maxUploadMb}mb` }));
  router.use('/api', express.json({ limit: '16kb' }));
  pageRoutes(router, deps, auth);
  pictureRoutes(router, deps);
  actionRoutes(router, deps, auth);
  return router;
}
