// The page's only way to the process: relative URLs under /inspector/api/ (same origin, as the CSP demands).
'use strict';

export async function getJson(path, params) {
  const query = params ? `?${new URLSearchParams(params)}` : '';
  const res = await fetch(`api/${path}${query}`, { headers: { Accept: 'application/json' } });
  if (res.status === 404) return undefined;
  if (!res.ok) {
    // The process says what was wrong with the request (a 400's `error`); otherwise the status.
    const body = await res.json().catch(() => null);
    throw new Error(typeof body?.error === 'string' ? body.error : `${path}: HTTP ${res.status}`);
  }
  return res.json();
}

/** Opens the live stream; `onFrame` gets each parsed frame. Returns a function that closes it. */
export function openStream(params, onFrame, onStatus) {
  const source = new EventSource(`api/stream?${new URLSearchParams(params)}`);
  source.onopen = () => onStatus('live');
  source.onerror = () => onStatus('reconnecting');
  source.onmessage = (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    onFrame(frame);
  };
  return () => source.close();
}

/** Only the non-empty fields of a form, as query parameters. */
export function formParams(form) {
  const out = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === 'checkbox') out[element.name] = element.checked ? 'true' : 'false';
    else if (element.value !== '') out[element.name] = element.value;
  }
  return out;
}
