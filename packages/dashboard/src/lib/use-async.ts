/**
 * @module use-async
 * `useAsync(fn, deps)`: the result of a promise-returning function, re-run when `deps` change; a newer run wins.
 * `reload()` runs it again.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface AsyncState<T> {
  value: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

export function useAsync<T>(fn: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ value: T | undefined; error: Error | undefined; loading: boolean }>({
    value: undefined,
    error: undefined,
    loading: true,
  });
  const run = useRef(0);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    const id = ++run.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (value) => {
        if (id === run.current) setState({ value, error: undefined, loading: false });
      },
      (error: Error) => {
        if (id === run.current) setState((s) => ({ value: s.value, error, loading: false }));
      },
    );
  }, [...deps, tick]);
  return { ...state, reload };
}
