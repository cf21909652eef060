/** Where a port serves the inspector: the page, its JSON API and its live stream live under this path. */
export const INSPECTOR_PREFIX = '/inspector';
