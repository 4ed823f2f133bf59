/**
 * The peer handshake, server and client side. Nothing but handshake frames is accepted until it
 * completes; every way it can fail maps to one `reason` (logged and counted by the mesh).
 *
 *   server → challenge {cluster, node, nonce}
 *   client → hello     {cluster, node, nonce, HMAC(secret, server nonce), peerPort
 *                       [, HMAC(previous secret, server nonce)]}
 *   server → welcome   {HMAC(s, client nonce)}             or  refused {reason}
 *
 * Secret rotation: a node may hold a previous secret besides its current one. The server admits
 * a hello proven under any secret it holds and answers under the one that matched (`s`), which
 * the client then verifies under any secret it holds. So nodes that share at least one secret
 * connect, and a rolling restart onto a new secret (with the old one as previous) never splits
 * the cluster.
 */
import type { WebSocket } from 'ws';
import {
  MalformedFrameError,
  PROTOCOL_VERSION,
  decodeHandshakeFrame,
  encodeFrame,
  type HandshakeFrame,
  type HelloFrame,
} from './frames.js';
import { freshNonce, handshakeMac, macsEqual } from './handshake-auth.js';
import { HandshakeTimeout, type Inbox } from './inbox.js';

export type HandshakeFailureReason =
  | 'wrong_cluster'
  | 'bad_mac'
  | 'duplicate_name'
  | 'unexpected_name'
  | 'incompatible_protocol'
  | 'malformed'
  | 'timeout'
  | 'closed'
  | 'too_many_pending';

export class HandshakeFailure extends Error {
  override readonly name = 'HandshakeFailure';
  constructor(
    readonly reason: HandshakeFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** The client reached itself (a seed address that is its own); not a failure. */
export class SelfConnection extends Error {
  override readonly name = 'SelfConnection';
}

export interface LocalIdentity {
  readonly clusterId: string;
  readonly nodeName: string;
  readonly secret: string;
  /** Also accepted and proven while a rotation is under way (never equal to `secret`). */
  readonly previousSecret?: string;
  readonly peerPort: number;
  readonly softwareVersion: string;
}

export interface AuthenticatedPeer {
  readonly node: string;
  readonly softwareVersion: string;
  /** Only known on the server side: where the client accepts connections. */
  readonly peerPort?: number;
  /** Authenticated under a previous secret (either side's): a rotation is not complete. */
  readonly viaPreviousSecret: boolean;
}

/** Last word before closing a connection we refuse (4000-4999 are application close codes). */
export const CLOSE_REFUSED = 4001;
const CLOSE_SELF = 4002;

export async function acceptHandshake(
  ws: WebSocket,
  inbox: Inbox,
  me: LocalIdentity,
  timeoutMs: number,
  /** Returns a refusal, or null to admit this (already authenticated) node. */
  admit: (node: string) => HandshakeFailure | null,
): Promise<AuthenticatedPeer> {
  const deadline = Date.now() + timeoutMs;
  const nonce = freshNonce();
  send(ws, {
    t: 'challenge',
    protocol: PROTOCOL_VERSION,
    clusterId: me.clusterId,
    node: me.nodeName,
    nonce,
  });
  try {
    const hello = await receive(inbox, deadline, ['hello', 'bye']);
    if (hello.t === 'bye') throw new SelfConnection('peer dialled itself');
    const checked = checkHello(hello, me, nonce);
    if (checked instanceof HandshakeFailure) throw checked;
    const refusal = admit(hello.node);
    if (refusal) throw refusal;
    const mac = handshakeMac(
      checked.secret,
      'server',
      me.clusterId,
      me.nodeName,
      hello.nonce,
      nonce,
    );
    send(ws, { t: 'welcome', mac, softwareVersion: me.softwareVersion });
    return {
      node: hello.node,
      softwareVersion: hello.softwareVersion,
      peerPort: hello.peerPort,
      viaPreviousSecret: checked.secret !== me.secret || checked.fromPreviousMac,
    };
  } catch (error) {
    const failure = asFailure(error);
    if (failure instanceof HandshakeFailure) {
      send(ws, { t: 'refused', reason: failure.reason, message: failure.message });
      ws.close(CLOSE_REFUSED, failure.reason);
    } else {
      ws.close(CLOSE_SELF, 'self');
    }
    throw failure;
  }
}

/** The secrets this node holds, current first. */
function secretsOf(me: LocalIdentity): string[] {
  return me.previousSecret === undefined ? [me.secret] : [me.secret, me.previousSecret];
}

/** Which of our secrets, if any, produced `mac` (every candidate compared in constant time). */
function matchingSecret(
  me: LocalIdentity,
  mac: string,
  computeWith: (secret: string) => string,
): string | null {
  let found: string | null = null;
  for (const secret of secretsOf(me)) {
    if (macsEqual(computeWith(secret), mac) && found === null) found = secret;
  }
  return found;
}

function checkHello(
  hello: HelloFrame,
  me: LocalIdentity,
  nonce: string,
): HandshakeFailure | { secret: string; fromPreviousMac: boolean } {
  if (hello.protocol !== PROTOCOL_VERSION) {
    return new HandshakeFailure(
      'incompatible_protocol',
      `peer ${hello.node} speaks protocol ${hello.protocol}, this node ${PROTOCOL_VERSION}`,
    );
  }
  if (hello.clusterId !== me.clusterId) {
    return new HandshakeFailure(
      'wrong_cluster',
      `peer ${hello.node} belongs to cluster "${hello.clusterId}", not "${me.clusterId}"`,
    );
  }
  const clientMac = (secret: string) =>
    handshakeMac(secret, 'client', hello.clusterId, hello.node, nonce, hello.nonce);
  const viaCurrent = matchingSecret(me, hello.mac, clientMac);
  if (viaCurrent !== null) return { secret: viaCurrent, fromPreviousMac: false };
  const viaPrevious =
    hello.previousMac === undefined ? null : matchingSecret(me, hello.previousMac, clientMac);
  if (viaPrevious !== null) return { secret: viaPrevious, fromPreviousMac: true };
  return new HandshakeFailure(
    'bad_mac',
    `peer ${hello.node} failed authentication (wrong cluster secret)`,
  );
}

export async function initiateHandshake(
  ws: WebSocket,
  inbox: Inbox,
  me: LocalIdentity,
  timeoutMs: number,
  expectedNode: string | null,
): Promise<AuthenticatedPeer> {
  const deadline = Date.now() + timeoutMs;
  try {
    const challenge = await receive(inbox, deadline, ['challenge']);
    if (challenge.node === me.nodeName && challenge.clusterId === me.clusterId) {
      send(ws, { t: 'bye', reason: 'self' });
      ws.close(CLOSE_SELF, 'self');
      throw new SelfConnection(`dialled itself`);
    }
    const nonce = freshNonce();
    const clientMac = (secret: string) =>
      handshakeMac(secret, 'client', me.clusterId, me.nodeName, challenge.nonce, nonce);
    send(ws, {
      t: 'hello',
      protocol: PROTOCOL_VERSION,
      clusterId: me.clusterId,
      node: me.nodeName,
      nonce,
      mac: clientMac(me.secret),
      ...(me.previousSecret !== undefined && { previousMac: clientMac(me.previousSecret) }),
      peerPort: me.peerPort,
      softwareVersion: me.softwareVersion,
    });
    const answer = await receive(inbox, deadline, ['welcome', 'refused']);
    if (answer.t === 'refused') {
      throw new HandshakeFailure(
        knownReason(answer.reason),
        `refused by ${challenge.node}: ${answer.message}`,
      );
    }
    // Checked only now, so the server (the node being protected) always gets to see, log and
    // count a foreign cluster's hello too.
    if (challenge.clusterId !== me.clusterId) {
      throw new HandshakeFailure(
        'wrong_cluster',
        `${challenge.node} belongs to cluster "${challenge.clusterId}"`,
      );
    }
    const serverMac = (secret: string) =>
      handshakeMac(secret, 'server', me.clusterId, challenge.node, nonce, challenge.nonce);
    const secret = matchingSecret(me, answer.mac, serverMac);
    if (secret === null) {
      throw new HandshakeFailure(
        'bad_mac',
        `${challenge.node} failed authentication (wrong cluster secret)`,
      );
    }
    if (expectedNode !== null && challenge.node !== expectedNode) {
      throw new HandshakeFailure(
        'unexpected_name',
        `dialled ${expectedNode} but reached ${challenge.node}`,
      );
    }
    return {
      node: challenge.node,
      softwareVersion: answer.softwareVersion,
      viaPreviousSecret: secret !== me.secret,
    };
  } catch (error) {
    const failure = asFailure(error);
    ws.close(CLOSE_REFUSED, failure instanceof HandshakeFailure ? failure.reason : 'self');
    throw failure;
  }
}

async function receive<T extends HandshakeFrame['t']>(
  inbox: Inbox,
  deadline: number,
  expected: readonly T[],
): Promise<Extract<HandshakeFrame, { t: T }>> {
  const { data, isBinary } = await inbox.next(Math.max(0, deadline - Date.now()));
  if (!isBinary) throw new MalformedFrameError('text frame during handshake');
  return decodeHandshakeFrame(data, expected);
}

function send(ws: WebSocket, frame: HandshakeFrame): void {
  ws.send(encodeFrame(frame), { binary: true });
}

function asFailure(error: unknown): HandshakeFailure | SelfConnection {
  if (error instanceof HandshakeFailure || error instanceof SelfConnection) return error;
  if (error instanceof HandshakeTimeout) return new HandshakeFailure('timeout', error.message);
  if (error instanceof MalformedFrameError) return new HandshakeFailure('malformed', error.message);
  return new HandshakeFailure('closed', (error as Error).message);
}

const REASONS: readonly HandshakeFailureReason[] = [
  'wrong_cluster',
  'bad_mac',
  'duplicate_name',
  'unexpected_name',
  'incompatible_protocol',
  'malformed',
  'timeout',
  'closed',
  'too_many_pending',
];

function knownReason(reason: string): HandshakeFailureReason {
  return (REASONS as readonly string[]).includes(reason)
    ? (reason as HandshakeFailureReason)
    : 'malformed';
}
