import { parseArgs, UsageError } from '../../src/cli/args';

const now = Date.parse('2025-03-01T12:00:00Z');

describe('parseArgs', () => {
  it('accepts --name=value and --name value, boolean flags and filters', () => {
    const o = parseArgs(
      [
        'tail',
        '--data-dir',
        '/d',
        '--agent=a.1',
        '--dest',
        '10.0.0.5',
        '--type=dial,conn.closed',
        '-f',
        '--json',
      ],
      now,
    );
    expect(o).toMatchObject({
      command: 'tail',
      dataDir: '/d',
      agent: 'a.1',
      dest: '10.0.0.5',
      follow: true,
      json: true,
    });
    expect([...o.types!].sort()).toEqual(
      [
        'conn.closed',
        'dial.cancelled',
        'dial.endpoint-connected',
        'dial.endpoint-failed',
        'dial.established',
        'dial.failed',
        'dial.requested',
        'dial.timed-out',
      ].sort(),
    );
  });

  it('takes --since as a duration or a time', () => {
    expect(parseArgs(['audit', '--event-log=nats://h:4222', '--since', '1h'], now).since?.toISOString()).toBe(
      '2025-03-01T11:00:00.000Z',
    );
  });

  it('recognises help', () => {
    expect(parseArgs(['--help'], now).command).toBe('help');
    expect(parseArgs(['help'], now).command).toBe('help');
  });

  it.each([
    [[], 'missing command'],
    [['tial', '--data-dir=/d'], 'unknown command "tial"'],
    [['tail'], 'one of --event-log or --data-dir is required'],
    [['tail', '--data-dir=/d', '--nope'], 'unknown flag --nope'],
    [['tail', '--data-dir=/d', '-x'], 'unknown flag -x'],
    [['tail', '--data-dir'], '--data-dir needs a value'],
    [['tail', '--data-dir=/d', '--since=soon'], '--since "soon" is neither'],
    [['tail', '--data-dir=/d', '--type=dail'], '--type "dail" matches no event type'],
    [['tail', '--data-dir=/d', '--limit=0'], '--limit must be a positive integer'],
    [['tail', '--data-dir=/d', '--limit=5', '--follow'], '--limit cannot be combined with --follow'],
    [['audit', '--data-dir=/d', '--follow'], '--follow is only for tail'],
    [['audit', '--data-dir=/d', '--side=both'], '--side must be server or agent'],
    [['tail', '--data-dir=/d', '--json=yes'], '--json takes true or false'],
    [['tail', 'audit', '--data-dir=/d'], 'unexpected audit'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv, now)).toThrow(UsageError);
    expect(() => parseArgs(argv, now)).toThrow(message);
  });
});
