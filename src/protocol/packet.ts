/**
 * The Konnectivity packet as a tagged union. Wire numbers live in PACKET_TYPE_NUMBER; everything above the
 * codec speaks in names so that switches are exhaustive and readable.
 */
export const PACKET_TYPE_NUMBER = {
  DIAL_REQ: 0,
  DIAL_RSP: 1,
  CLOSE_REQ: 2,
  CLOSE_RSP: 3,
  DATA: 4,
  DIAL_CLS: 5,
  DRAIN: 6,
  /**
   * konnectivity-ts extension, sent only after both peers negotiated it (docs/flow-control.md). A high
   * number so that it cannot collide with types the reference adds later.
   */
  CREDIT: 64,
} as const;

export type PacketTypeName = keyof typeof PACKET_TYPE_NUMBER;

export const PACKET_TYPE_NAMES: readonly PacketTypeName[] = Object.keys(
  PACKET_TYPE_NUMBER,
) as PacketTypeName[];

export interface DialRequestPacket {
  readonly type: 'DIAL_REQ';
  readonly protocol: string;
  readonly address: string;
  readonly random: bigint;
}
export interface DialResponsePacket {
  readonly type: 'DIAL_RSP';
  readonly error: string;
  readonly connectID: bigint;
  readonly random: bigint;
}
export interface CloseRequestPacket {
  readonly type: 'CLOSE_REQ';
  readonly connectID: bigint;
}
export interface CloseResponsePacket {
  readonly type: 'CLOSE_RSP';
  readonly error: string;
  readonly connectID: bigint;
}
export interface DataPacket {
  readonly type: 'DATA';
  readonly connectID: bigint;
  readonly error: string;
  readonly data: Buffer;
}
export interface CloseDialPacket {
  readonly type: 'DIAL_CLS';
  readonly random: bigint;
}
export interface DrainPacket {
  readonly type: 'DRAIN';
}
/** Grants the peer `bytes` more DATA payload on `connectID` (flow-control extension). */
export interface CreditPacket {
  readonly type: 'CREDIT';
  readonly connectID: bigint;
  readonly bytes: bigint;
}

/**
 * A packet whose type number this build does not know (a newer reference, or a probe). The reference
 * ignores such packets and goes on, so every receiver here does too; it is never sent.
 */
export interface UnknownPacket {
  readonly type: 'UNKNOWN';
  /** The type number as it arrived. */
  readonly code: number;
}

export type Packet =
  | DialRequestPacket
  | DialResponsePacket
  | CloseRequestPacket
  | CloseResponsePacket
  | DataPacket
  | CloseDialPacket
  | DrainPacket
  | CreditPacket;

/** What a receiver gets from the codec: a packet, or one of a type it must ignore. */
export type DecodedPacket = Packet | UnknownPacket;

const EMPTY = Buffer.alloc(0);

/** Small constructors so call sites never forget a field that Go peers dereference. */
export const packets = {
  dialRequest: (address: string, random: bigint, protocol = 'tcp'): DialRequestPacket => ({
    type: 'DIAL_REQ',
    protocol,
    address,
    random,
  }),
  dialResponse: (random: bigint, connectID: bigint, error = ''): DialResponsePacket => ({
    type: 'DIAL_RSP',
    error,
    connectID,
    random,
  }),
  closeRequest: (connectID: bigint): CloseRequestPacket => ({ type: 'CLOSE_REQ', connectID }),
  closeResponse: (connectID: bigint, error = ''): CloseResponsePacket => ({
    type: 'CLOSE_RSP',
    error,
    connectID,
  }),
  data: (connectID: bigint, data: Buffer = EMPTY, error = ''): DataPacket => ({
    type: 'DATA',
    connectID,
    error,
    data,
  }),
  closeDial: (random: bigint): CloseDialPacket => ({ type: 'DIAL_CLS', random }),
  drain: (): DrainPacket => ({ type: 'DRAIN' }),
  credit: (connectID: bigint, bytes: number): CreditPacket => ({
    type: 'CREDIT',
    connectID,
    bytes: BigInt(bytes),
  }),
} as const;

/** A one-line rendering for logs; never includes payload bytes. */
export function describePacket(p: DecodedPacket): string {
  switch (p.type) {
    case 'DIAL_REQ':
      return `DIAL_REQ{address=${p.address} random=${p.random}}`;
    case 'DIAL_RSP':
      return `DIAL_RSP{random=${p.random} connectID=${p.connectID}${p.error ? ` error=${JSON.stringify(p.error)}` : ''}}`;
    case 'CLOSE_REQ':
      return `CLOSE_REQ{connectID=${p.connectID}}`;
    case 'CLOSE_RSP':
      return `CLOSE_RSP{connectID=${p.connectID}${p.error ? ` error=${JSON.stringify(p.error)}` : ''}}`;
    case 'DATA':
      return `DATA{connectID=${p.connectID} bytes=${p.data.length}${p.error ? ` error=${JSON.stringify(p.error)}` : ''}}`;
    case 'DIAL_CLS':
      return `DIAL_CLS{random=${p.random}}`;
    case 'DRAIN':
      return 'DRAIN{}';
    case 'CREDIT':
      return `CREDIT{connectID=${p.connectID} bytes=${p.bytes}}`;
    case 'UNKNOWN':
      return `UNKNOWN{type=${p.code}}`;
    default: {
      const _exhaustive: never = p;
      return String(_exhaustive);
    }
  }
}
