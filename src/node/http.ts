/**
 * The node's one HTTP listener. Other parts mount their routes on `app` when they are made
 * (intake: STOW-RS; health: /healthz, /readyz, /metrics; later a review page); this part only
 * listens on start and closes on stop.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { CtMuscleError, describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { NodePart } from './part.ts';

export interface HttpPart extends NodePart {
  app: Express;
  /** The URL the node listens at (after start). */
  url(): string;
}

/**
 * The app-wide error handler. Express's default answers with the stack (file paths) outside
 * production; a bad percent-encoding in the URL (URIError, status 400) or a body the JSON parser
 * refuses is the client's fault and gets a plain message; anything else is logged and gets 500.
 */
function plainErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(error);
    return;
  }
  const status = Number((error as { status?: number; statusCode?: number })?.status ?? (error as { statusCode?: number })?.statusCode);
  if (status >= 400 && status < 500) {
    const message = error instanceof URIError ? 'The URL holds a malformed percent-encoding.' : 'The request is malformed.';
    res.status(status).type('application/json').send(JSON.stringify({ code: 'E_MALFORMED_REQUEST', message }));
    return;
  }
  logger.error('request failed', describeError(error));
  res.status(500).type('application/json').send(JSON.stringify({ code: 'E_INTERNAL', message: 'The node could not process the request.' }));
}

export function createHttp(listen: { host: string; port: number }): HttpPart {
  const app = express();
  app.disable('x-powered-by');
  let server: Server | undefined;
  let url = '';
  return {
    name: 'http',
    app,
    url: () => url,
    async start() {
      // Last, after every part's routes: errors become a plain answer, never a stack trace or a path.
      app.use(plainErrors);
      server = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(listen.port, listen.host, () => resolve(s));
        s.once('error', (error) => reject(new CtMuscleError('E_IO', `Cannot listen on ${listen.host}:${listen.port}: ${error.message}`)));
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${host}:${address.port}`;
    },
    async stop() {
      if (!server) return;
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      // Keep-alive connections would hold close() open until they time out.
      server.closeIdleConnections();
      await closed;
    },
  };
}
