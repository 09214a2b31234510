/**
 * The pages: GET / (dashboard), GET /inspect/{sid} (statechart inspector; 404 for an unknown session),
 * GET /assets/* (their files) and GET /vendor/{name} (the few files of installed packages they use).
 * No token is needed to load them (the dashboard gets it in the URL fragment, which never reaches a server),
 * but the Host/Origin guard applies. Nothing here is loaded from the internet (CSP: 'self' only).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join, sep } from 'node:path';
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../context.js';
import { HttpError, parseOr400 } from '../errors.js';
import { PACKAGE_ROOT, STATIC_DIR } from '../paths.js';
import { SessionIdParam } from '../schemas.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files above this size are not served from assets/ (they would be read whole into memory). */
const MAX_ASSET_BYTES = 16 * 1024 * 1024;

/**
 * GET /vendor/{name}: the dashboard's Changes view draws diffs with diff2html (its highlight.js bundled in the
 * "slim" UI build) and colours them with highlight.js's GitHub themes, served from the installed packages so
 * nothing comes from a CDN. Only these names exist: the request picks an entry of this table, never a path.
 */
export const VENDOR_FILES: Readonly<Record<string, { module: string; from?: string }>> = {
  'diff2html-ui-slim.min.js': { module: 'diff2html/bundles/js/diff2html-ui-slim.min.js' },
  'diff2html.min.css': { module: 'diff2html/bundles/css/diff2html.min.css' },
  // highlight.js comes with diff2html (its dependency): looked up from there, wherever npm put it.
  'highlight-github.min.css': { module: 'highlight.js/styles/github.min.css', from: 'diff2html/package.json' },
  'highlight-github-dark.min.css': {
    module: 'highlight.js/styles/github-dark.min.css',
    from: 'diff2html/package.json',
  },
};

// Resolved from the package's manifest: the same node_modules whether this runs from src/ or from a bundle in dist/.
const requireHere = createRequire(join(PACKAGE_ROOT, 'package.json'));
const vendorPaths = new Map<string, string>();

/** The file of a vendor entry in node_modules; an error a person can act on when the package is missing. */
function vendorPath(name: string): string {
  const known = vendorPaths.get(name);
  if (known) return known;
  const entry = VENDOR_FILES[name];
  if (!entry) throw new HttpError(404, `no vendor file ${name}`);
  let path: string;
  try {
    const resolver = entry.from ? createRequire(requireHere.resolve(entry.from)) : requireHere;
    path = resolver.resolve(entry.module);
  } catch {
    throw new HttpError(
      500,
      `${entry.module} is missing from this installation (the dashboard needs it to show diffs): ` +
        `reinstall meta-orchestrator's dependencies (npm install)`,
    );
  }
  vendorPaths.set(name, path);
  return path;
}

/**
 * `sessionExists` says whether a session id names a session of the workspace: the inspector of one that does
 * not exist is a 404, like any other unknown thing.
 */
export function pageRoutes(
  staticDir: string = STATIC_DIR,
  sessionExists: (sessionId: string) => boolean = () => true,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const assetsDir = join(staticDir, 'assets');

  app.get('/', (c) => servePage(c, join(staticDir, 'index.html')));

  app.get('/inspect/:sid', (c) => {
    const sessionId = parseOr400(SessionIdParam, c.req.param('sid'), 'session id');
    if (!sessionExists(sessionId)) throw new HttpError(404, `no session ${sessionId} in this workspace`);
    return servePage(c, join(staticDir, 'inspect.html'));
  });

  app.get('/assets/*', async (c) => {
    const raw = new URL(c.req.url).pathname.slice('/assets/'.length);
    const segments = raw.split('/').map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new HttpError(400, 'malformed percent-encoding in the asset path');
      }
    });
    // Plain names only: no "..", no hidden files, no separators or NULs smuggled in through %-encoding.
    if (segments.length === 0 || segments.some((s) => s === '' || s.startsWith('.') || /[\\/\0]/.test(s))) {
      throw new HttpError(400, 'invalid asset path');
    }
    const file = await resolveInside(assetsDir, join(assetsDir, ...segments));
    if (!file) throw new HttpError(404, `no asset ${segments.join('/')}`);
    const body = await readFile(file);
    return c.body(body, 200, {
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
    });
  });

  app.get('/vendor/:name', async (c) => {
    const name = c.req.param('name');
    // An own property only: `constructor`, `__proto__` and the like are not files.
    if (!Object.hasOwn(VENDOR_FILES, name)) throw new HttpError(404, `no vendor file ${name}`);
    const path = vendorPath(name);
    const body = await readFile(path).catch(() => {
      throw new HttpError(500, `${path} cannot be read: reinstall meta-orchestrator's dependencies (npm install)`);
    });
    return c.body(body, 200, {
      'Content-Type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
    });
  });

  return app;
}

async function servePage(c: Context<AppEnv>, path: string): Promise<Response> {
  let html: string;
  try {
    html = await readFile(path, 'utf8');
  } catch {
    throw new HttpError(404, `page ${path} is missing from this installation`);
  }
  return c.body(html, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
}

/** The real path of a regular file inside `root` (symlinks resolved), or null. */
async function resolveInside(root: string, path: string): Promise<string | null> {
  try {
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(path)]);
    if (!realFile.startsWith(realRoot + sep)) return null;
    const info = await stat(realFile);
    return info.isFile() && info.size <= MAX_ASSET_BYTES ? realFile : null;
  } catch {
    return null;
  }
}
