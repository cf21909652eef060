/** Shapes shared by the driver (scenarios.ts) and the client process (client.ts). */

/** How the client reaches the target: straight (the baseline) or through a server's Unix-socket frontend. */
export type Via =
  | { kind: 'direct' }
  | { kind: 'grpc'; socketPath: string; oneChannel?: boolean }
  | { kind: 'http-connect'; socketPath: string };
