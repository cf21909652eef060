/**
 * The text client-go gives a non-2xx answer: the API server's Status `message` when the body is a Status
 * (a real API server always sends one, e.g. "Unauthorized"), else apimachinery's generic text for the code.
 * Operators compare our log lines with the reference's, so the wording is kept.
 */

const GENERIC: Readonly<Record<number, string>> = {
  400: 'the server rejected our request for an unknown reason',
  401: 'the server has asked for the client to provide credentials',
  403: 'the server does not allow access to the requested resource',
  404: 'the server could not find the requested resource',
  405: 'the server does not allow this method on the requested resource',
  415: 'the server has rejected our request due to an unsupported media type',
  422: 'the server rejected our request due to an error in our request',
  429: 'the server has received too many requests and has asked us to try again later',
  503: 'the server is currently unable to handle the request',
  504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
};

/** How much of a non-Status body goes into the message: enough to recognise a proxy's error page. */
const BODY_EXCERPT_CHARS = 200;

export function statusErrorMessage(statusCode: number, body: string): string {
  const message = statusMessage(body);
  if (message) return message;
  const generic = GENERIC[statusCode];
  if (generic) return generic;
  if (statusCode >= 500) {
    const excerpt = body.trim().slice(0, BODY_EXCERPT_CHARS);
    return `an error on the server (${JSON.stringify(excerpt)}) has prevented the request from succeeding`;
  }
  return `the server responded with the status code ${statusCode} but did not return more information`;
}

function statusMessage(body: string): string | undefined {
  try {
    const doc: unknown = JSON.parse(body);
    if (typeof doc !== 'object' || doc === null) return undefined;
    const { kind, message } = doc as { kind?: unknown; message?: unknown };
    return kind === 'Status' && typeof message === 'string' && message !== '' ? message : undefined;
  } catch {
    return undefined;
  }
}
