import { dialAddressLengthError, MAX_DIAL_ADDRESS_BYTES } from '../../src/protocol/dialAddress';
import { boundPeerText, PEER_TEXT_LIMIT } from '../../src/protocol/peerText';
import { createLogger } from '../../src/observability/logger';
import { eventFactory } from '../../src/events';

describe('boundPeerText', () => {
  it('keeps text up to the limit as it is', () => {
    const text = 'x'.repeat(PEER_TEXT_LIMIT);
    expect(boundPeerText(text)).toBe(text);
  });

  it('cuts longer text to a prefix with a marker saying how much was cut', () => {
    expect(boundPeerText(`${'y'.repeat(PEER_TEXT_LIMIT)}tail`)).toBe(
      `${'y'.repeat(PEER_TEXT_LIMIT)}...[4 more characters cut]`,
    );
    expect(boundPeerText('abcdef', 2)).toBe('ab...[4 more characters cut]');
  });

  it('bounds every string a log line carries', () => {
    const lines: string[] = [];
    const log = createLogger({ verbosity: 0, component: 't', sink: (l) => lines.push(l) });
    const huge = 'h'.repeat(1 << 20);
    log.info('dial', { address: huge, ids: [huge] });
    log.error('failed', new Error(huge));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.length).toBeLessThan(3 * PEER_TEXT_LIMIT);
    expect(lines[0]).toContain('more characters cut]');
  });

  it('bounds every string an event records', () => {
    const events = eventFactory({ serverId: 's' });
    const huge = 'e'.repeat(1 << 20);
    const e = events.dialFailed({ random: 1n, destination: huge, reason: 'x', error: huge, latencyMs: 0 });
    expect(JSON.stringify(e).length).toBeLessThan(3 * PEER_TEXT_LIMIT);
  });
});

describe('dialAddressLengthError', () => {
  it.each([
    ['the longest DNS name with a trailing dot and port', `${'a'.repeat(254)}:65535`],
    [
      'a bracketed IPv6 literal with an embedded IPv4 and a zone',
      '[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%interface-name1]:65535',
    ],
    ['a short address', '10.0.0.5:10250'],
  ])('accepts %s', (_name, address) => {
    expect(dialAddressLengthError(address)).toBeNull();
  });

  it('refuses one byte more, counting UTF-8 bytes rather than characters', () => {
    expect(dialAddressLengthError(`${'a'.repeat(255)}:65535`)).toBe(
      `dial tcp: address of ${MAX_DIAL_ADDRESS_BYTES + 1} bytes is longer than any host:port (at most ${MAX_DIAL_ADDRESS_BYTES})`,
    );
    expect(dialAddressLengthError(`${'é'.repeat(130)}:1`)).toMatch(/address of 262 bytes/);
  });
});
