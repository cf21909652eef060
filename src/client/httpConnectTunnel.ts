/**
 * Dialing through a Konnectivity server in http-connect mode, the way kube-apiserver does: one connection
 * per tunnel (a Unix socket, or TCP with mTLS), `CONNECT <address> HTTP/1.1` with `Host: 127.0.0.1`, and
 * on `200 Connection Established` the same socket becomes the tunnel.
 *
 * The response is read in paused mode ('readable' + read()), so no byte past the head is consumed by us:
 * whatever arrived with the head is unshifted back, and the caller's first 'data' sees it.
 */
import * as net from 'net';
import * as tls from 'tls';
import { DialError, HttpConnectError } from './errors';
import {
  bodyReaderFor,
  CONNECT_ESTABLISHED_HEAD,
  headLength,
  HttpParseError,
  MAX_HEAD_BYTES,
  parseResponseHead,
  type BodyReader,
  type ResponseHead,
} from './httpResponse';
import { DEFAULT_DIAL_TIMEOUT_MS } from './timeouts';

export interface HttpConnectTlsOptions {
  readonly ca: string | Buffer;
  /** The client certificate and key; the reference server requires them (mTLS). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Name to verify the server certificate against when it differs from `host`. */
  readonly servername?: string;
}

interface CommonOptions {
  /** `host:port` the agent should connect to; goes into the request line. */
  readonly address: string;
  readonly timeoutMs?: number;
  /** Bytes sent right after the request head, before the reply: pipelined tunnel bytes. */
  readonly initialData?: Buffer;
  /**
   * Require the success reply to be exactly `HTTP/1.1 200 Connection Established\r\n\r\n`, as the reference
   * server writes it (default true). With false, any 200 head is accepted, as kube-apiserver does.
   */
  readonly strict?: boolean;
}

export type HttpConnectDialOptions = CommonOptions &
  (
    | { readonly socketPath: string }
    | { readonly host: string; readonly port: number; readonly tls?: HttpConnectTlsOptions }
  );

/** The request kube-apiserver sends; it always names 127.0.0.1 as Host, whatever the address. */
export function connectRequest(address: string): string {
  return `CONNECT ${address} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
}

function openSocket(options: HttpConnectDialOptions): net.Socket {
  if ('socketPath' in options) return net.connect({ path: options.socketPath });
  if (!options.tls) return net.connect({ host: options.host, port: options.port });
  const { ca, cert, key, servername } = options.tls;
  return tls.connect({
    host: options.host,
    port: options.port,
    ca,
    cert,
    key,
    ...(servername ? { servername } : {}),
  });
}

/** Resolves with the connected socket once the proxy has established the tunnel. */
export function dialViaHttpConnect(options: HttpConnectDialOptions): Promise<net.Socket> {
  const socket = openSocket(options);
  socket.write(connectRequest(options.address));
  if (options.initialData && options.initialData.length > 0) socket.write(options.initialData);
  return readConnectResponse(socket, options.address, {
    timeoutMs: options.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    strict: options.strict ?? true,
  });
}

/**
 * Reads the reply to a CONNECT already written on `socket`. Exposed for tests that speak to a proxy by
 * hand. On failure the socket is destroyed.
 */
export function readConnectResponse(
  socket: net.Socket,
  address: string,
  { timeoutMs, strict }: { timeoutMs: number; strict: boolean },
): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    let head: ResponseHead | undefined;
    let body: BodyReader | undefined;

    const timer = setTimeout(
      () => fail(new DialError('timeout', address, `CONNECT ${address}: no reply within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const detach = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (error: DialError): void => {
      detach();
      // Errors after we gave up (e.g. the reset that follows) must not go unhandled.
      socket.on('error', () => undefined);
      socket.destroy();
      reject(error);
    };
    const failWithErrorResponse = (): void => {
      if (head && body) {
        fail(new HttpConnectError(address, head.status, head.statusText, head.headers, body.text()));
      }
    };
    const onHead = (h: ResponseHead, rest: Buffer): void => {
      head = h;
      if (h.status === 200) {
        if (strict && h.raw.toString('latin1') !== CONNECT_ESTABLISHED_HEAD) {
          fail(
            new DialError(
              'protocol',
              address,
              `unexpected CONNECT success head ${JSON.stringify(h.raw.toString('latin1'))}`,
            ),
          );
          return;
        }
        detach();
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
        return;
      }
      body = bodyReaderFor(h);
      body.push(rest);
      if (body.done) failWithErrorResponse();
    };
    const onReadable = (): void => {
      try {
        readAvailable();
      } catch (err) {
        if (!(err instanceof HttpParseError)) throw err;
        fail(new DialError('protocol', address, `CONNECT ${address}: ${err.message}`, { cause: err }));
      }
    };
    const readAvailable = (): void => {
      let chunk: Buffer | null;
      while (head === undefined && (chunk = socket.read() as Buffer | null) !== null) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const length = headLength(received);
        if (length >= 0) {
          onHead(parseResponseHead(received.subarray(0, length)), received.subarray(length));
          return;
        }
        if (received.length > MAX_HEAD_BYTES) {
          fail(
            new DialError(
              'protocol',
              address,
              `CONNECT ${address}: reply head exceeds ${MAX_HEAD_BYTES} bytes`,
            ),
          );
          return;
        }
      }
      while (body && (chunk = socket.read() as Buffer | null) !== null) {
        body.push(chunk);
        if (body.done) {
          failWithErrorResponse();
          return;
        }
      }
    };
    const onEnd = (): void => {
      // An error reply without Content-Length ends with the connection; anything else ending is a failure.
      if (body) failWithErrorResponse();
      else fail(new DialError('transport', address, `CONNECT ${address}: connection closed before a reply`));
    };
    const onError = (err: Error): void => {
      if (body) failWithErrorResponse();
      else fail(new DialError('transport', address, `CONNECT ${address}: ${err.message}`, { cause: err }));
    };

    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}
