/**
 * The page's files, shipped in the package (inspector-ui/ at the package root) and served by the process
 * itself: the inspector of a control plane must work with no network access beyond the process. Read once
 * at start-up into memory (about 60 KiB), so a request never touches the disk and never resolves a path
 * from the URL: only the names listed here exist.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** inspector-ui/ relative to this file, the same from src/inspector/http (tests) and dist/inspector/http. */
export const UI_DIR = path.resolve(__dirname, '../../../inspector-ui');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const UI_FILES = [
  'index.html',
  'style.css',
  'app.js',
  'api.js',
  'dom.js',
  'charts.js',
  'table.js',
  'detail.js',
  'feed.js',
  'fleet.js',
  'favicon.svg',
] as const;

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

export class InspectorUiMissingError extends Error {
  override readonly name = 'InspectorUiMissingError';
  readonly reason = 'ui-missing' as const;
  constructor(file: string, options: { cause: unknown }) {
    super(`the inspector page's file ${file} is missing from the package (${UI_DIR})`, options);
  }
}

export function loadAssets(dir = UI_DIR): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of UI_FILES) {
    let body: Buffer;
    try {
      body = readFileSync(path.join(dir, name));
    } catch (err) {
      throw new InspectorUiMissingError(name, { cause: err });
    }
    assets.set(name, { body, contentType: CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream' });
  }
  return assets;
}
