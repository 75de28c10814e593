export function NotFoundPage() {
  return (
    <section aria-labelledby="nf-heading">
      <h1 id="nf-heading">Page not found</h1>
      <p>
        <a href="/">See all events</a>
      </p>
    </section>
  );
}
