/**
 * Handshake authentication: each side proves knowledge of the cluster secret with an HMAC over
 * the other side's fresh nonce, so a recorded handshake cannot be replayed and neither side
 * trusts a peer that merely knows the cluster id.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type HandshakeRole = 'client' | 'server';

export function freshNonce(): string {
  return randomBytes(16).toString('base64');
}

export function handshakeMac(
  secret: string,
  role: HandshakeRole,
  clusterId: string,
  senderNode: string,
  receiverNonce: string,
  senderNonce: string,
): string {
  // Fields joined with a separator that cannot occur in them (node names and cluster ids are
  // DNS-style, nonces base64), so distinct inputs can never produce the same message.
  const message = ['qs-peer-v1', role, clusterId, senderNode, receiverNonce, senderNonce].join(
    '\n',
  );
  return createHmac('sha256', secret).update(message).digest('base64');
}

export function macsEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}
