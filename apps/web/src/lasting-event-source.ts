/** What a lasting stream does with what it hears. */
export interface StreamHandlers {
  /** Named server-sent events and what to do with each message's data. */
  events: Record<string, (data: string) => void>;
  onOpen?: () => void;
  /** The stream dropped; `reopening`: the browser gave it up, and a new one opens after a pause. */
  onError?: (reopening: boolean) => void;
}

const FIRST_RETRY_MS = 1_000;

/**
 * A server-sent event stream that outlasts the browser giving up. EventSource reconnects by itself after a
 * dropped connection, but an answer that is not a stream (a 502 or 503 while a gateway restarts) closes it
 * for good: a new one is then opened after a pause that doubles up to `lastRetryMs`, reset once open.
 */
export function openLastingStream(url: string, handlers: StreamHandlers, lastRetryMs: number): { close(): void } {
  let source: EventSource | undefined;
  let retryMs = FIRST_RETRY_MS;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const open = () => {
    source = new EventSource(url);
    source.addEventListener('open', () => {
      retryMs = FIRST_RETRY_MS;
      handlers.onOpen?.();
    });
    for (const [name, handle] of Object.entries(handlers.events)) {
      source.addEventListener(name, (message) => handle((message as MessageEvent<string>).data));
    }
    source.addEventListener('error', () => {
      const reopening = !closed && source?.readyState === EventSource.CLOSED;
      if (reopening) {
        retry = setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, lastRetryMs);
      }
      handlers.onError?.(reopening);
    });
  };
  open();
  return {
    close: () => {
      closed = true;
      clearTimeout(retry);
      source?.close();
    },
  };
}
