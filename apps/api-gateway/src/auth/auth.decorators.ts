import { SetMetadata } from '@nestjs/common';

export const ADMIN_ONLY = 'auth:admin-only';
export const PUBLIC_ROUTE = 'auth:public';

/** Only a token with the `admin` role may call this route, whatever AUTH_MODE says. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/** Callable without a token even when AUTH_MODE=required (health, the event catalogue). */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);
