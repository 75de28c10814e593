import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, postgresErrorCode, retryWhenOvertaken } from '../src/common/postgres-errors.js';

const pgError = (code: string) => Object.assign(new Error('pg'), { code });

describe('PostgreSQL error classification', () => {
  it('finds the SQLSTATE directly or in a wrapped cause', () => {
    expect(postgresErrorCode(pgError('23505'))).toBe('23505');
    expect(postgresErrorCode(new Error('wrapped', { cause: pgError('23514') }))).toBe('23514');
    expect(postgresErrorCode(Object.assign(new Error('node'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(postgresErrorCode('text')).toBeUndefined();
  });

  it('tells an unreachable database from a bad query', () => {
    expect(isDatabaseUnavailable(pgError('08006'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('57P01'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('53300'))).toBe(true);
    // A standby refusing a write (the address led to it before its promotion).
    expect(isDatabaseUnavailable(pgError('25006'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe(true);
    expect(
      isDatabaseUnavailable(new Error('Failed query', { cause: new Error('Connection terminated unexpectedly') })),
    ).toBe(true);
    expect(isDatabaseUnavailable(pgError('42601'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
  });
});

describe('retryWhenOvertaken', () => {
  it('repeats a statement chosen as deadlock victim, then gives up', async () => {
    let calls = 0;
    await expect(
      retryWhenOvertaken(async () => {
        calls++;
        if (calls < 3) throw pgError('40P01');
        return 'done';
      }),
    ).resolves.toBe('done');
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      retryWhenOvertaken(async () => {
        calls++;
        throw pgError('40P01');
      }, 2),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(calls).toBe(2);
  });

  it('repeats a statement refused by a sales window changed after its snapshot', async () => {
    let calls = 0;
    await expect(
      retryWhenOvertaken(async () => {
        calls++;
        if (calls < 2) throw pgError('BK002');
        return 'done';
      }),
    ).resolves.toBe('done');
    expect(calls).toBe(2);
  });

  it('does not repeat other errors', async () => {
    let calls = 0;
    await expect(
      retryWhenOvertaken(async () => {
        calls++;
        throw pgError('23505');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);
  });
});
