import { backoffDelayMs } from '../../../src/mesh/backoff.js';
import {
  FrameKind,
  MalformedFrameError,
  decodeHandshakeFrame,
  decodeRpcFrame,
  encodeFrame,
} from '../../../src/mesh/frames.js';
import { handshakeMac, macsEqual } from '../../../src/mesh/handshake-auth.js';
import { PeerLiveness } from '../../../src/mesh/liveness.js';

describe('peer liveness', () => {
  const liveness = () => new PeerLiveness({ suspectAfterMs: 100, deadAfterMs: 300 });

  it('moves alive → suspect → dead with silence, and back on contact', () => {
    const view = liveness();
    view.know('b');
    expect(view.state('b', 0)).toBe('dead'); // never heard
    view.heard('b', 1000);
    expect(view.state('b', 1099)).toBe('alive');
    expect(view.state('b', 1100)).toBe('suspect');
    expect(view.state('b', 1299)).toBe('suspect');
    expect(view.state('b', 1300)).toBe('dead');
    view.heard('b', 1400);
    expect(view.state('b', 1401)).toBe('alive');
  });

  it('never moves last-heard backwards (out-of-order timestamps)', () => {
    const view = liveness();
    view.heard('b', 500);
    view.heard('b', 100);
    expect(view.lastHeardMs('b')).toBe(500);
  });

  it('rejects thresholds that cannot order the states', () => {
    expect(() => new PeerLiveness({ suspectAfterMs: 300, deadAfterMs: 300 })).toThrow(RangeError);
  });
});

describe('reconnect backoff', () => {
  const policy = { minMs: 100, maxMs: 5000 };

  it('is zero before any failure and doubles (with up to 50% jitter) after', () => {
    expect(backoffDelayMs(policy, 0, () => 0.5)).toBe(0);
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(50);
    expect(backoffDelayMs(policy, 1, () => 1)).toBe(100);
    expect(backoffDelayMs(policy, 3, () => 1)).toBe(400);
  });

  it('never exceeds the cap, however many failures', () => {
    for (const failures of [10, 50, 1000]) {
      expect(backoffDelayMs(policy, failures, () => 1)).toBe(5000);
      expect(backoffDelayMs(policy, failures, () => 0)).toBe(2500);
    }
  });
});

describe('handshake MAC', () => {
  const mac = (secret: string, role: 'client' | 'server' = 'client', node = 'a', nonce = 'n1') =>
    handshakeMac(secret, role, 'cluster', node, nonce, 'n2');

  it('depends on the secret, the role, the node and both nonces', () => {
    const base = mac('secret-one-1234567');
    expect(macsEqual(base, mac('secret-one-1234567'))).toBe(true);
    expect(macsEqual(base, mac('secret-two-1234567'))).toBe(false);
    expect(macsEqual(base, mac('secret-one-1234567', 'server'))).toBe(false);
    expect(macsEqual(base, mac('secret-one-1234567', 'client', 'b'))).toBe(false);
    expect(macsEqual(base, mac('secret-one-1234567', 'client', 'a', 'n3'))).toBe(false);
  });

  it('compares safely when lengths differ', () => {
    expect(macsEqual('abc', 'abcd')).toBe(false);
  });
});

describe('frames', () => {
  it('round-trips every RPC frame kind', () => {
    const frames = [
      [FrameKind.Request, 7, 'echo', { a: [1, 'x', Buffer.from([1, 2])] }],
      [FrameKind.Response, 7, null],
      [FrameKind.Error, 7, 'internal', 'boom'],
      [FrameKind.OneWay, 'gossip', 42],
      [FrameKind.Cancel, 7],
      [FrameKind.Heartbeat],
      [FrameKind.HeartbeatAck],
    ] as const;
    for (const frame of frames) expect(decodeRpcFrame(encodeFrame(frame))).toEqual(frame);
  });

  it.each([
    ['garbage bytes', Buffer.from([0xc1, 0xff, 0x00])],
    ['a map instead of an array', encodeFrame({ t: 'bye', reason: 'self' })],
    [
      'an unknown kind',
      Buffer.from(encodeFrame([FrameKind.Cancel, 1]).map((b, i) => (i === 1 ? 99 : b))),
    ],
    ['a request without a method', encodeFrame([FrameKind.Cancel, 1]).subarray(0, 1)],
  ])('rejects %s', (_name, data) => {
    expect(() => decodeRpcFrame(data)).toThrow(MalformedFrameError);
  });

  it('validates handshake fields and types', () => {
    const hello = { t: 'challenge', protocol: 1, clusterId: 'c', node: 'n', nonce: 'x' } as const;
    expect(decodeHandshakeFrame(encodeFrame(hello), ['challenge'])).toEqual(hello);
    expect(() => decodeHandshakeFrame(encodeFrame(hello), ['hello'])).toThrow(
      /expected a handshake frame of type hello/,
    );
    const oversized = { ...hello, node: 'x'.repeat(1000) };
    expect(() => decodeHandshakeFrame(encodeFrame(oversized), ['challenge'])).toThrow(/field node/);
    const missing = { t: 'challenge', protocol: 1, clusterId: 'c', node: 'n' };
    expect(() => decodeHandshakeFrame(encodeFrame(missing as never), ['challenge'])).toThrow(
      /field nonce/,
    );
  });

  it('accepts a hello with or without previousMac, and checks it when present', () => {
    const hello = {
      t: 'hello',
      protocol: 1,
      clusterId: 'c',
      node: 'n',
      nonce: 'x',
      mac: 'm',
      peerPort: 7000,
      softwareVersion: '1',
    } as const;
    expect(decodeHandshakeFrame(encodeFrame(hello), ['hello'])).toEqual(hello);
    const rotating = { ...hello, previousMac: 'p' };
    expect(decodeHandshakeFrame(encodeFrame(rotating), ['hello'])).toEqual(rotating);
    for (const previousMac of [7, 'x'.repeat(1000)]) {
      expect(() =>
        decodeHandshakeFrame(encodeFrame({ ...hello, previousMac } as never), ['hello']),
      ).toThrow(/handshake hello: field previousMac missing or invalid/);
    }
  });
});
