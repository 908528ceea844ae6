/**
 * OHIF for the viewer check: the prebuilt `@ohif/app` dist served by a small Node server that
 * also forwards /dicom-web to Orthanc, so the viewer and its DICOMweb source share one origin
 * (no CORS). The dist is fetched once with `npm pack` into node_modules/.cache, not installed as
 * a dependency: it is 200 MB of static files nothing else needs.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { repoRoot } from './env.ts';

export const OHIF_VERSION = '3.13.2';
/** node_modules/.cache: ignored by git and by ESLint (200 MB of bundled JS must not be linted). */
const OHIF_DIR = process.env.CT_MUSCLE_OHIF_DIR ?? join(repoRoot, 'node_modules', '.cache', 'ct-muscle-node', 'ohif');

/** The OHIF dist folder, fetched with `npm pack @ohif/app@VERSION` and unpacked when absent. */
export function ensureOhifDist(): string {
  const dist = join(OHIF_DIR, 'package', 'dist');
  if (existsSync(join(dist, 'index.html'))) return dist;
  mkdirSync(OHIF_DIR, { recursive: true });
  const tarball = join(OHIF_DIR, `ohif-app-${OHIF_VERSION}.tgz`);
  if (!existsSync(tarball)) {
    const pack = spawnSync('npm', ['pack', `@ohif/app@${OHIF_VERSION}`, '--pack-destination', OHIF_DIR], { encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`npm pack @ohif/app@${OHIF_VERSION} failed: ${pack.stderr}`);
  }
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', OHIF_DIR], { encoding: 'utf8' });
  if (untar.status !== 0 || !existsSync(join(dist, 'index.html'))) throw new Error(`cannot unpack ${tarball}: ${untar.stderr}`);
  return dist;
}

/** OHIF configuration: one DICOMweb data source on this origin (the proxy to Orthanc). */
export function appConfig(): string {
  const config = {
    routerBasename: '/',
    extensions: [],
    modes: [],
    customizationService: {},
    showStudyList: true,
    maxNumberOfWebWorkers: 2,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: false,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    investigationalUseDialog: { option: 'never' },
    defaultDataSourceName: 'orthanc',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'orthanc',
        configuration: {
          friendlyName: 'Orthanc (test)',
          name: 'orthanc',
          wadoUriRoot: '/wado',
          qidoRoot: '/dicom-web',
          wadoRoot: '/dicom-web',
          qidoSupportsIncludeField: false,
          supportsReject: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          staticWado: false,
          singlepart: 'bulkdata,video',
          bulkDataURI: { enabled: true, relativeResolution: 'studies' },
          omitQuotationForMultipartRequest: true,
        },
      },
    ],
  };
  return `window.config = ${JSON.stringify(config, null, 2)};\n`;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};

export interface ViewerServer {
  url: string;
  close(): Promise<void>;
}

function proxy(req: IncomingMessage, res: ServerResponse, target: URL): void {
  const upstream = httpRequest(
    { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(error));
  });
  req.pipe(upstream);
}

/** Serve `distDir` with a SPA fallback, our app-config.js, and /dicom-web + /wado forwarded to `orthancBaseUrl`. */
export async function startViewerServer(distDir: string, orthancBaseUrl: string): Promise<ViewerServer> {
  const target = new URL(orthancBaseUrl);
  const root = resolve(distDir);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (path.startsWith('/dicom-web/') || path === '/dicom-web' || path.startsWith('/wado')) return proxy(req, res, target);
    if (path === '/app-config.js') {
      res.writeHead(200, { 'content-type': MIME['.js'], 'cache-control': 'no-store' });
      return res.end(appConfig());
    }
    // No service worker: a fresh profile per run and nothing cached between runs.
    if (path === '/sw.js' || path === '/init-service-worker.js') {
      res.writeHead(200, { 'content-type': MIME['.js'] });
      return res.end('');
    }
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.writeHead(403);
      return res.end();
    }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
