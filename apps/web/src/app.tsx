import { ErrorBoundary, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useLiveSeats } from './live.js';
import { AdminPage } from './pages/admin-page.js';
import { BookingsPage } from './pages/bookings-page.js';
import { EventPage } from './pages/event-page.js';
import { EventsPage } from './pages/events-page.js';
import { NotFoundPage } from './pages/not-found-page.js';
import { QueuePage } from './pages/queue-page.js';
import { SignIn } from './sign-in.js';

const links = [
  { href: '/', label: 'Events' },
  { href: '/bookings', label: 'My bookings' },
  { href: '/admin', label: 'Admin' },
];

function Header() {
  const { path } = useLocation();
  const { state } = useLiveSeats();
  return (
    <header class="site-header">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="bar">
        <a class="brand" href="/">
          Event booking
        </a>
        <nav aria-label="Main">
          <ul>
            {links.map((link) => (
              <li key={link.href}>
                <a href={link.href} aria-current={isCurrent(path, link.href) ? 'page' : undefined}>
                  {link.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={`live-state ${state}`} role="status" data-testid="live-state">
          {state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline'}
        </span>
      </div>
      <SignIn />
    </header>
  );
}

const isCurrent = (path: string, href: string) => (href === '/' ? path === '/' : path.startsWith(href));

export function App() {
  return (
    <LocationProvider>
      <Header />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          {/* The gateway answers these paths with the page too (CLIENT_ROUTES in its web/web-app.ts). */}
          <Router>
            <Route path="/" component={EventsPage} />
            <Route path="/events/:id" component={EventPage} />
            <Route path="/events/:id/queue" component={QueuePage} />
            <Route path="/bookings" component={BookingsPage} />
            <Route path="/admin" component={AdminPage} />
            <Route default component={NotFoundPage} />
          </Router>
        </ErrorBoundary>
      </main>
    </LocationProvider>
  );
}
