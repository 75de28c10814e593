/** `call`, with at most `n` calls running at once; the others wait their turn in order (a crowd of clients). */
export function limited<A extends unknown[], R>(
  n: number,
  call: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (...args) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await call(...args);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
