/** Polls `condition` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once GET `url` answers 2xx. */
export function waitForHttpOk(url: string, timeoutMs: number, stillRunning: () => boolean = () => true): Promise<void> {
  return waitUntil(
    async () => {
      if (!stillRunning()) throw new Error(`${url}: the process serving it exited`);
      return fetch(url).then(
        (response) => response.ok,
        () => false,
      );
    },
    timeoutMs,
    `${url} ready`,
  );
}
