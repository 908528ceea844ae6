/**
 * The node's one HTTP listener. Other parts mount their routes on `app` when they are made
 * (intake: STOW-RS; health: /healthz, /readyz, /metrics; later a review page); this part only
 * listens on start and closes on stop.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { CtMuscleError } from '../errors.ts';
import type { NodePart } from './part.ts';

export interface HttpPart extends NodePart {
  app: Express;
  /** The URL the node listens at (after start). */
  url(): string;
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
