import type { Load } from './use-load.js';

/** What a page shows while `load` is under way or after it failed; nothing once it is ready. */
export function LoadStatus({ load, loading }: { load: Load<unknown>; loading: string }) {
  if (load.status === 'loading') return <p>{loading}</p>;
  if (load.status === 'error') {
    return (
      <p class="error" role="alert">
        {load.message}
      </p>
    );
  }
  return null;
}
