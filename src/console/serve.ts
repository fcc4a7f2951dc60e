import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import express, { type Router } from 'express';

/**
 * Where `npm run build` puts the web console (vite, console/vite.config.ts):
 * dist/console beside the compiled server, found from this file both when it
 * runs compiled (dist/src/console) and from source under jest (src/console).
 */
export const CONSOLE_DIR = (() => {
  const marker = `${sep}dist${sep}`;
  const root = __dirname.includes(marker) ? __dirname.slice(0, __dirname.lastIndexOf(marker)) : resolve(__dirname, '../..');
  return join(root, 'dist', 'console');
})();

/**
 * The console may talk only to this server: its own scripts and styles, GraphQL over
 * fetch and graphql-ws on the same origin ('self' covers ws:/wss: to it), no inline
 * script, no fonts, no frames.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** GET / → /console; /console serves the single-page app (hash routes, so one HTML file), /console/assets/* its hashed files. */
export function consoleRouter(dir: string = CONSOLE_DIR): Router {
  const router = express.Router();
  const index = join(dir, 'index.html');
  router.get('/', (_req, res) => res.redirect(302, '/console'));
  router.use('/console', (_req, res, next) => {
    res.set({
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
    next();
  });
  router.use('/console/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '1y', index: false, fallthrough: false }));
  router.get(['/console', '/console/'], (_req, res) => {
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The console is not built: run `npm run build` (it writes dist/console).\n');
      return;
    }
    res.set('Cache-Control', 'no-cache').sendFile(index);
  });
  return router;
}
