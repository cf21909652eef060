import { FlagError, ParsedFlags, type FlagSpec, isHelpRequested, parseFlags } from '../../src/config/flags';

const specs: FlagSpec[] = [
  { name: 'mode', kind: 'string', default: 'grpc', help: 'mode' },
  { name: 'agent-port', kind: 'port', default: 8091, help: 'port' },
  { name: 'server-count', kind: 'int', default: 1, help: 'count' },
  { name: 'qps', kind: 'float', default: 0, help: 'qps' },
  { name: 'sync-forever', kind: 'bool', default: false, help: 'bool' },
  { name: 'delete-existing-uds-file', kind: 'bool', default: true, help: 'bool' },
  { name: 'keepalive-time', kind: 'duration', default: 3_600_000, help: 'duration' },
  { name: 'alpn-proto', kind: 'stringList', default: [], help: 'list' },
  { name: 'log-file', kind: 'string', default: '', help: 'klog' },
  { name: 'v', kind: 'int', default: 0, syntax: { base: 10, bits: 32, unsigned: false }, help: 'level' },
  { name: 'agent-id', kind: 'string', default: '', env: 'PROXY_AGENT_ID', help: 'id' },
  { name: 'enable-profiling', kind: 'bool', default: false, help: 'pprof', compatOnly: 'no pprof' },
  { name: 'old', kind: 'bool', default: true, help: 'old', deprecated: 'always on now.' },
  {
    name: 'even',
    kind: 'int',
    default: 0,
    help: 'even',
    check: (n) => (n % 2 === 0 ? undefined : 'must be even'),
  },
];

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): ParsedFlags {
  const r = parseFlags(specs, argv, env);
  if (!(r instanceof ParsedFlags)) throw new Error('unexpected help');
  return r;
}

function flagError(argv: string[], env: NodeJS.ProcessEnv = {}): FlagError {
  try {
    parseFlags(specs, argv, env);
  } catch (e) {
    if (e instanceof FlagError) return e;
    throw e;
  }
  throw new Error(`expected a FlagError for ${argv.join(' ')}`);
}

describe('parseFlags: value forms', () => {
  test('defaults apply when nothing is given', () => {
    const f = parse([]);
    expect(f.string('mode')).toBe('grpc');
    expect(f.int('agent-port')).toBe(8091);
    expect(f.duration('keepalive-time')).toBe(3_600_000);
    expect(f.bool('delete-existing-uds-file')).toBe(true);
    expect(f.list('alpn-proto')).toEqual([]);
    expect(f.changed.size).toBe(0);
  });

  test.each([
    [['--mode=http-connect']],
    [['--mode', 'http-connect']],
    [['-mode=http-connect']],
    [['-mode', 'http-connect']],
  ])('%j sets the string flag (pflag and Go flag styles)', (argv) => {
    const f = parse(argv);
    expect(f.string('mode')).toBe('http-connect');
    expect(f.changed.has('mode')).toBe(true);
  });

  test('every kind converts its value', () => {
    const f = parse([
      '--agent-port=8132',
      '--server-count',
      '3',
      '--qps=2.5',
      '--keepalive-time=30s',
      '--alpn-proto=h2,konnectivity',
    ]);
    expect(f.int('agent-port')).toBe(8132);
    expect(f.int('server-count')).toBe(3);
    expect(f.float('qps')).toBe(2.5);
    expect(f.duration('keepalive-time')).toBe(30_000);
    expect(f.list('alpn-proto')).toEqual(['h2', 'konnectivity']);
  });

  test('the value after --name is taken even when it starts with a dash (pflag does the same)', () => {
    expect(parse(['--server-count', '-1']).int('server-count')).toBe(-1);
  });

  test('an explicitly empty value is kept (Kamaji passes --admin-bind-address= this way)', () => {
    expect(parse(['--mode=']).string('mode')).toBe('');
  });

  test('underscores and dashes name the same flag (log_file == log-file)', () => {
    expect(parse(['--log_file=/tmp/x.log']).string('log-file')).toBe('/tmp/x.log');
    expect(parse(['-log_file', '/tmp/y.log']).string('log-file')).toBe('/tmp/y.log');
  });

  test.each([[['-v', '4']], [['-v=4']], [['--v=4']], [['--v', '4']], [['-v4']]])(
    'klog verbosity %j sets v to 4',
    (argv) => {
      expect(parse(argv).int('v')).toBe(4);
    },
  );

  test('the last occurrence of a scalar flag wins', () => {
    expect(parse(['--server-count=2', '--server-count=5']).int('server-count')).toBe(5);
  });

  test('-- ends the flags', () => {
    expect(parse(['--server-count=2', '--']).int('server-count')).toBe(2);
  });
});

describe('parseFlags: booleans', () => {
  test('a bare bool means true and does not consume the next argument', () => {
    const f = parse(['--sync-forever', '--server-count=4']);
    expect(f.bool('sync-forever')).toBe(true);
    expect(f.int('server-count')).toBe(4);
  });

  test('a bare bool followed by a word leaves the word as a positional argument, which is an error', () => {
    expect(flagError(['--sync-forever', 'false']).reason).toBe('unexpected-argument');
  });

  test.each([
    ['--delete-existing-uds-file=false', false],
    ['--delete-existing-uds-file=0', false],
    ['--sync-forever=true', true],
    ['--sync-forever=T', true],
    ['-sync-forever', true],
  ])('%s gives %s', (arg, value) => {
    const name = arg.includes('delete') ? 'delete-existing-uds-file' : 'sync-forever';
    expect(parse([arg]).bool(name)).toBe(value);
  });

  test('an invalid bool value is rejected with pflag wording', () => {
    const e = flagError(['--sync-forever=maybe']);
    expect(e.reason).toBe('invalid-argument');
    expect(e.message).toBe(
      'invalid argument "maybe" for "--sync-forever" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    );
  });
});

describe('parseFlags: string lists', () => {
  test('[] means an empty list (pflag prints empty lists that way and harnesses echo it back)', () => {
    expect(parse(['--alpn-proto=[]']).list('alpn-proto')).toEqual([]);
  });

  test('an empty value means an empty list', () => {
    expect(parse(['--alpn-proto=']).list('alpn-proto')).toEqual([]);
  });

  test('repeating a list flag appends, like pflag StringSlice', () => {
    expect(parse(['--alpn-proto=a,b', '--alpn-proto', 'c']).list('alpn-proto')).toEqual(['a', 'b', 'c']);
  });
});

describe('parseFlags: errors carry pflag messages', () => {
  test.each([
    [['--foo'], 'unknown-flag', 'unknown flag: --foo'],
    [['--foo=1'], 'unknown-flag', 'unknown flag: --foo'],
    [['-foo'], 'unknown-flag', 'unknown flag: -foo'],
    [['-x'], 'unknown-flag', "unknown shorthand flag: 'x' in -x"],
    [['--agent-port'], 'missing-argument', 'flag needs an argument: --agent-port'],
    [['-v'], 'missing-argument', "flag needs an argument: 'v' in -v"],
    [
      ['--agent-port=abc'],
      'invalid-argument',
      'invalid argument "abc" for "--agent-port" flag: strconv.ParseInt: parsing "abc": invalid syntax',
    ],
    [
      ['--agent-port=70000'],
      'invalid-argument',
      'invalid argument "70000" for "--agent-port" flag: port 70000 out of range 0-65535',
    ],
    [
      ['--keepalive-time=5x'],
      'invalid-argument',
      'invalid argument "5x" for "--keepalive-time" flag: time: unknown unit "x" in duration "5x"',
    ],
    [
      ['--keepalive-time=10'],
      'invalid-argument',
      'invalid argument "10" for "--keepalive-time" flag: time: missing unit in duration "10"',
    ],
    [
      ['-v', 'x'],
      'invalid-argument',
      'invalid argument "x" for "-v, --v" flag: strconv.ParseInt: parsing "x": invalid syntax',
    ],
    [['--even=3'], 'invalid-argument', 'invalid argument "3" for "--even" flag: must be even'],
    [['---mode=x'], 'bad-flag-syntax', 'bad flag syntax: ---mode=x'],
    [['--=x'], 'bad-flag-syntax', 'bad flag syntax: --=x'],
    [['serve'], 'unexpected-argument', 'unexpected positional argument "serve"'],
    [['--', 'serve'], 'unexpected-argument', 'unexpected positional argument "serve"'],
  ])('%j fails with %s: %s', (argv, reason, message) => {
    const e = flagError(argv);
    expect(e.reason).toBe(reason);
    expect(e.message).toBe(message);
  });

  test('the error is a one-line message', () => {
    expect(flagError(['--agent-port=abc']).message).not.toContain('\n');
  });
});

describe('parseFlags: help', () => {
  test.each([[['--help']], [['-h']], [['-help']], [['--mode=grpc', '--help']]])(
    '%j asks for help',
    (argv) => {
      expect(isHelpRequested(parseFlags(specs, argv, {}))).toBe(true);
    },
  );

  test('an error before --help wins, as in pflag', () => {
    expect(flagError(['--nope', '--help']).reason).toBe('unknown-flag');
  });
});

describe('parseFlags: environment defaults', () => {
  test('the env variable is used when the flag is absent', () => {
    const f = parse([], { PROXY_AGENT_ID: 'node-1' });
    expect(f.string('agent-id')).toBe('node-1');
    expect(f.changed.has('agent-id')).toBe(true);
  });

  test('the flag wins over the env variable', () => {
    expect(parse(['--agent-id=flag'], { PROXY_AGENT_ID: 'env' }).string('agent-id')).toBe('flag');
  });

  test('an empty env variable is ignored', () => {
    expect(parse([], { PROXY_AGENT_ID: '' }).changed.has('agent-id')).toBe(false);
  });
});

describe('parseFlags: warnings', () => {
  test("a deprecated flag is accepted and produces pflag's deprecation notice", () => {
    expect(parse(['--old=false']).warnings).toEqual(['Flag --old has been deprecated, always on now.']);
  });

  test('a compatibility-only flag set to a non-default value is reported as having no effect', () => {
    expect(parse(['--enable-profiling']).warnings).toEqual([
      'Flag --enable-profiling is accepted for compatibility only and has no effect: no pprof',
    ]);
  });

  test('a compatibility-only flag set to its default produces no warning', () => {
    expect(parse(['--enable-profiling=false']).warnings).toEqual([]);
  });
});

describe('ParsedFlags accessors', () => {
  test('asking for an undefined flag or the wrong kind is a programming error', () => {
    const f = parse([]);
    expect(() => f.string('nope')).toThrow('not defined');
    expect(() => f.bool('mode')).toThrow('not defined');
  });
});
