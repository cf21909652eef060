/**
 * `/inspector/` on a port: the page's files, a JSON API and a live stream, all read-only. The same handler
 * serves a process's live inspector (admin port) and the fleet inspector (its own port); a backend
 * answers the API. Every response carries a Content-Security-Policy that allows only this origin's
 * scripts and styles (no inline script), so text that came from the network can never run in the page,
 * even if a renderer forgot to treat it as text.
 */
import type * as http from 'node:http';
import type { PrefixHandler } from '../../observability/httpEndpoints';
import { INSPECTOR_PREFIX } from './prefix';
import { InspectorRequestError } from './requestError';
import { loadAssets, type Asset } from './staticAssets';
import { serveViewer, type Viewer } from './viewerStream';

export { INSPECTOR_PREFIX };

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export interface InspectorBackend {
  info(): unknown;
  /**
   * The JSON for `GET /inspector/api/<route...>`, or undefined when there is no such thing (404); throws
   * InspectorRequestError for a parameter it cannot read (400).
   */
  get(route: readonly string[], params: URLSearchParams): unknown;
  /** A page that opened the live stream (`/inspector/api/stream`). */
  viewer(params: URLSearchParams): Viewer;
}

function send(res: http.ServerResponse, status: number, body: string | Buffer, contentType: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

export function inspectorHandler(
  backend: InspectorBackend,
  assets: ReadonlyMap<string, Asset> = loadAssets(),
): PrefixHandler {
  return {
    prefix: INSPECTOR_PREFIX,
    handle: (req, res, url) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return sendJson(res, 405, { error: 'the inspector is read-only' });
      }
      const rest = url.pathname.slice(INSPECTOR_PREFIX.length);
      if (rest === '') {
        res.writeHead(301, { ...SECURITY_HEADERS, Location: `${INSPECTOR_PREFIX}/` });
        res.end();
        return;
      }
      const parts = rest.split('/').slice(1).map(decodeSegment);
      if (parts[0] === 'api') {
        const route = parts.slice(1);
        if (route.length === 1 && route[0] === 'stream' && req.method === 'HEAD') {
          // A HEAD would otherwise hold a stream open whose frames are never sent.
          return send(res, 200, '', 'text/event-stream; charset=utf-8');
        }
        if (route.length === 1 && route[0] === 'stream') {
          for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
          return serveViewer(req, res, backend.viewer(url.searchParams));
        }
        let body: unknown;
        try {
          body =
            route.length === 1 && route[0] === 'info' ? backend.info() : backend.get(route, url.searchParams);
        } catch (err) {
          if (err instanceof InspectorRequestError) return sendJson(res, 400, { error: err.message });
          throw err;
        }
        if (body === undefined) return sendJson(res, 404, { error: `no such inspector resource: ${rest}` });
        return sendJson(res, 200, body);
      }
      const asset = assets.get(
        parts.length === 1 && parts[0] === '' ? 'index.html' : (parts.join('/') ?? ''),
      );
      if (asset === undefined) return send(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
      send(res, 200, asset.body, asset.contentType);
    },
  };
}

/** A path segment as text; a malformed escape is kept as it came (it then names nothing). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
