import { createLogger, type Logger } from '../../src/observability/logger';
import { formatError, formatValue, quote } from '../../src/observability/logFormat';

/** 24 Nov, 14:30:00.123 local time, because klog prints local time. */
const AT = new Date(2023, 10, 24, 14, 30, 0, 123);

function capture(verbosity = 0, component = 'server'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    verbosity,
    component,
    sink: (l) => lines.push(l),
    now: () => AT,
    pid: 12345,
  });
  return { logger, lines };
}

describe('logger line format', () => {
  it('writes the klog header, the quoted message and key=value pairs', () => {
    const { logger, lines } = capture();
    logger.info('Agent connected', { agentID: 'a-1', count: 3, ready: true, connID: 18446744073709551615n });
    expect(lines).toEqual([
      'I1124 14:30:00.123000   12345 server] "Agent connected" agentID="a-1" count=3 ready=true connID=18446744073709551615',
    ]);
  });

  it('uses W and E severities; error puts err first with the cause chain', () => {
    const { logger, lines } = capture();
    logger.warn('Slow agent', { agentID: 'a' });
    const root = new Error('connect ECONNREFUSED 10.0.0.1:443');
    logger.error('Dial failed', new Error('dial backend', { cause: root }), { dialID: 7 });
    expect(lines[0]).toBe('W1124 14:30:00.123000   12345 server] "Slow agent" agentID="a"');
    expect(lines[1]).toBe(
      'E1124 14:30:00.123000   12345 server] "Dial failed" err="dial backend: connect ECONNREFUSED 10.0.0.1:443" dialID=7',
    );
  });

  it('omits err when error() is called without one, like klog ErrorS(nil, …)', () => {
    const { logger, lines } = capture();
    logger.error('Giving up');
    expect(lines[0]).toMatch(/^E\S+ \S+ +12345 server\] "Giving up"$/);
  });

  it('quotes and escapes strings like Go strconv.Quote, and leaves numbers and bools bare', () => {
    expect(quote('say "hi"\\ \t\n\x01\x7f é 😀')).toBe('"say \\"hi\\"\\\\ \\t\\n\\x01\\x7f é 😀"');
    expect(quote('\u200b')).toBe('"\\u200b"'); // zero-width space is not printable in Go
    expect(formatValue(1.5)).toBe('=1.5');
    expect(formatValue(Number.POSITIVE_INFINITY)).toBe('=+Inf');
    expect(formatValue(false)).toBe('=false');
    expect(formatValue(null)).toBe('=<nil>');
    expect(formatValue(undefined)).toBe('=<nil>');
    expect(formatValue({ a: 1, b: 2n })).toBe('={"a":1,"b":"2"}');
    expect(formatValue(new URL('http://x/y'))).toBe('="http://x/y"');
  });

  it('renders multi-line string values the klog way, between =< and  >', () => {
    expect(formatValue('line 1\nline 2')).toBe('=<\n\tline 1\n\tline 2\n >');
    expect(formatValue('only\n')).toBe('=<\n\tonly\n >');
  });

  it('does not repeat a cause already embedded in the wrapper message, and survives cycles', () => {
    const inner = new Error('EOF');
    expect(formatError(new Error('read frame: EOF', { cause: inner }))).toBe('read frame: EOF');
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(formatError(b)).toBe('b: a');
    expect(formatError('plain string')).toBe('plain string');
  });

  it('child() extends the component and with() adds fields to every line, call fields winning', () => {
    const { logger, lines } = capture();
    const tunnel = logger.child('tunnel').with({ agentID: 'a-1', n: 1 });
    tunnel.info('Opened', { n: 2 });
    expect(lines[0]).toBe('I1124 14:30:00.123000   12345 server/tunnel] "Opened" agentID="a-1" n=2');
  });

  it('keeps the caller alive when the sink throws', () => {
    const logger = createLogger({
      verbosity: 0,
      component: 'x',
      sink: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => logger.info('still fine')).not.toThrow();
  });
});

describe('logger verbosity', () => {
  it('writes debug(level) only when level <= verbosity, as klog --v', () => {
    const { logger, lines } = capture(2);
    expect([logger.v(0), logger.v(2), logger.v(3)]).toEqual([true, true, false]);
    logger.debug(2, 'shown', { k: 'v' });
    logger.debug(3, 'hidden');
    expect(lines).toEqual(['I1124 14:30:00.123000   12345 server] "shown" k="v"']);
  });

  it('does not build lazy fields for a disabled level', () => {
    const { logger } = capture(1);
    const build = jest.fn(() => ({ big: 'x' }));
    logger.debug(4, 'expensive', build);
    expect(build).not.toHaveBeenCalled();
    logger.debug(1, 'cheap', build);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('rejects a negative or fractional verbosity at start-up', () => {
    expect(() => createLogger({ verbosity: -1, component: 'x' })).toThrow(RangeError);
    expect(() => createLogger({ verbosity: 1.5, component: 'x' })).toThrow(RangeError);
  });

  it('writes to stderr by default', () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      createLogger({ verbosity: 0, component: 'agent', pid: 1, now: () => AT }).info('hello');
      expect(write).toHaveBeenCalledWith('I1124 14:30:00.123000       1 agent] "hello"\n');
    } finally {
      write.mockRestore();
    }
  });
});
