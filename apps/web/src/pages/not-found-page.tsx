import { useLocation } from 'preact-iso';

/** Any address the app does not know; the gateway sends such a navigation this page with status 404. */
export function NotFoundPage() {
  const { path } = useLocation();
  return (
    <section aria-labelledby="nf-heading">
      <h1 id="nf-heading">Page not found</h1>
      <p>
        There is no page at <code class="path">{path}</code>. The address may be mistyped, or the page may have moved.
      </p>
      <p>
        <a href="/">See all events</a> or <a href="/bookings">your bookings</a>.
      </p>
    </section>
  );
}
