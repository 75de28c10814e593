import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export type Load<T> =
  { status: 'loading' } | { status: 'error'; message: string; error: unknown } | { status: 'ready'; data: T };

/** Runs `load` on mount and whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Load<T>, () => void] {
  const [state, setState] = useState<Load<T>>({ status: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setState({ status: 'ready', data }),
      (error: unknown) => current && setState({ status: 'error', message: messageOf(error), error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  return [state, useCallback(() => setRound((value) => value + 1), [])];
}

export const messageOf = (error: unknown): string =>
  error instanceof ApiError ? error.userMessage : 'Something went wrong. Please try again.';
