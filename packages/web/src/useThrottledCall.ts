import { useCallback, useEffect, useRef } from 'react';

/**
 * Runs `fn` at most once per `ms` (the trailing call is kept), always the latest `fn` given; a pending call is dropped
 * when the component unmounts.
 */
export function useThrottledCall(fn: () => void, ms: number): () => void {
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(fn);
  useEffect(() => {
    latest.current = fn;
  });
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return useCallback(() => {
    const wait = last.current + ms - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      latest.current();
    } else if (timer.current === null) {
      timer.current = setTimeout(() => {
        timer.current = null;
        last.current = Date.now();
        latest.current();
      }, wait);
    }
  }, [ms]);
}
