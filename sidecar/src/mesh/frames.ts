/**
 * The peer wire format: one msgpack-encoded array per binary WebSocket message.
 *
 * Before authentication only handshake frames (plain maps with a `t` field) are accepted; after it,
 * only RPC frames (arrays whose first element is a FrameKind). Anything else is a protocol
 * violation and closes the connection.
 */
import { Packr } from 'msgpackr';

/** Bumped on any incompatible change; checked in the handshake. */
export const PROTOCOL_VERSION = 1;

export enum FrameKind {
  Request = 1,
  Response = 2,
  Error = 3,
  OneWay = 4,
  Cancel = 5,
  Heartbeat = 6,
  HeartbeatAck = 7,
}

export type RpcFrame =
  | readonly [FrameKind.Request, number, string, unknown]
  | readonly [FrameKind.Response, number, unknown]
  | readonly [FrameKind.Error, number, string, string]
  | readonly [FrameKind.OneWay, string, unknown]
  | readonly [FrameKind.Cancel, number]
  | readonly [FrameKind.Heartbeat]
  | readonly [FrameKind.HeartbeatAck];

// Records off: record structures are per-stream state, and every frame must decode on its own.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encodeFrame(frame: RpcFrame | HandshakeFrame): Buffer {
  return packr.pack(frame);
}

export class MalformedFrameError extends Error {
  override readonly name = 'MalformedFrameError';
}

function decode(data: Buffer): unknown {
  try {
    return packr.unpack(data);
  } catch (error) {
    throw new MalformedFrameError(`undecodable frame: ${(error as Error).message}`);
  }
}

const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isStr = (x: unknown): x is string => typeof x === 'string';

export function decodeRpcFrame(data: Buffer): RpcFrame {
  const f = decode(data);
  if (!Array.isArray(f)) throw new MalformedFrameError('RPC frame is not an array');
  const ok = (() => {
    switch (f[0]) {
      case FrameKind.Request:
        return f.length === 4 && isId(f[1]) && isStr(f[2]);
      case FrameKind.Response:
        return f.length === 3 && isId(f[1]);
      case FrameKind.Error:
        return f.length === 4 && isId(f[1]) && isStr(f[2]) && isStr(f[3]);
      case FrameKind.OneWay:
        return f.length === 3 && isStr(f[1]);
      case FrameKind.Cancel:
        return f.length === 2 && isId(f[1]);
      case FrameKind.Heartbeat:
      case FrameKind.HeartbeatAck:
        return f.length === 1;
      default:
        return false;
    }
  })();
  if (!ok) throw new MalformedFrameError(`invalid RPC frame of kind ${String(f[0])}`);
  return f as unknown as RpcFrame;
}

// ---- handshake frames ----------------------------------------------------------------------

/** Server → client, first frame on every connection. */
export interface ChallengeFrame {
  readonly t: 'challenge';
  readonly protocol: number;
  readonly clusterId: string;
  readonly node: string;
  readonly nonce: string;
}

/** Client → server: who I am, proven by an HMAC over the server's nonce. */
export interface HelloFrame {
  readonly t: 'hello';
  readonly protocol: number;
  readonly clusterId: string;
  readonly node: string;
  readonly nonce: string;
  readonly mac: string;
  /**
   * The same proof under the client's previous cluster secret, sent only while one is configured
   * (a secret rotation in progress): a server still on the old secret can verify this one.
   */
  readonly previousMac?: string;
  /** Where the client accepts peer connections itself, so the server can dial back. */
  readonly peerPort: number;
  readonly softwareVersion: string;
}

/** Server → client: accepted; the HMAC over the client's nonce proves the server knows the secret. */
export interface WelcomeFrame {
  readonly t: 'welcome';
  readonly mac: string;
  readonly softwareVersion: string;
}

export interface RefusedFrame {
  readonly t: 'refused';
  readonly reason: string;
  readonly message: string;
}

/** Client → server: leaving without authenticating (it dialled itself). */
export interface ByeFrame {
  readonly t: 'bye';
  readonly reason: 'self';
}

export type HandshakeFrame = ChallengeFrame | HelloFrame | WelcomeFrame | RefusedFrame | ByeFrame;

const HANDSHAKE_FIELDS: Record<HandshakeFrame['t'], Record<string, 'string' | 'number'>> = {
  challenge: { protocol: 'number', clusterId: 'string', node: 'string', nonce: 'string' },
  hello: {
    protocol: 'number',
    clusterId: 'string',
    node: 'string',
    nonce: 'string',
    mac: 'string',
    peerPort: 'number',
    softwareVersion: 'string',
  },
  welcome: { mac: 'string', softwareVersion: 'string' },
  refused: { reason: 'string', message: 'string' },
  bye: { reason: 'string' },
};

/** Fields a frame may carry; checked like the required ones when present. */
const OPTIONAL_HANDSHAKE_FIELDS: Partial<
  Record<HandshakeFrame['t'], Record<string, 'string' | 'number'>>
> = {
  hello: { previousMac: 'string' },
};

/** Longest string accepted in any handshake field: bounds what an unauthenticated peer can make us hold. */
const MAX_HANDSHAKE_FIELD = 256;

export function decodeHandshakeFrame<T extends HandshakeFrame['t']>(
  data: Buffer,
  expected: readonly T[],
): Extract<HandshakeFrame, { t: T }> {
  const f = decode(data) as Record<string, unknown> | null;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) {
    throw new MalformedFrameError('handshake frame is not a map');
  }
  const type = f['t'];
  if (typeof type !== 'string' || !(expected as readonly string[]).includes(type)) {
    throw new MalformedFrameError(
      `expected a handshake frame of type ${expected.join('|')}, got ${String(type)}`,
    );
  }
  const optional = OPTIONAL_HANDSHAKE_FIELDS[type as T] ?? {};
  const fields = [
    ...Object.entries(HANDSHAKE_FIELDS[type as T]),
    ...Object.entries(optional).filter(([field]) => f[field] !== undefined),
  ];
  for (const [field, kind] of fields) {
    const value = f[field];
    const valid =
      kind === 'number'
        ? Number.isSafeInteger(value)
        : typeof value === 'string' && value.length <= MAX_HANDSHAKE_FIELD;
    if (!valid)
      throw new MalformedFrameError(`handshake ${type}: field ${field} missing or invalid`);
  }
  return f as unknown as Extract<HandshakeFrame, { t: T }>;
}
