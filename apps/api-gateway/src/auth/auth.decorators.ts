import { routePolicy } from '../pipeline/route-policy.js';

/** Only a token with the `admin` role may call this route, whatever AUTH_MODE says. */
export const AdminOnly = () => routePolicy({ access: 'admin' });

/** Callable without a token even when AUTH_MODE=required (the event catalogue, the live feed). */
export const PublicRoute = () => routePolicy({ access: 'public' });
