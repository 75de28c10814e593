import { useEffect, useState } from 'preact/hooks';

/**
 * Who is using the page. `userName` is the user id bookings are made for;
 * `userToken` is sent as a bearer token when the gateway requires sign-in;
 * `adminToken` authorises the admin page. Kept in localStorage so a reload keeps them.
 */
export interface Session {
  userName: string;
  userToken: string;
  adminToken: string;
}

const KEY = 'booking.session';
const listeners = new Set<(session: Session) => void>();

function read(): Session {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Session>;
    return { userName: stored.userName ?? '', userToken: stored.userToken ?? '', adminToken: stored.adminToken ?? '' };
  } catch {
    return { userName: '', userToken: '', adminToken: '' };
  }
}

let current = read();

export function updateSession(change: Partial<Session>): void {
  current = { ...current, ...change };
  localStorage.setItem(KEY, JSON.stringify(current));
  for (const listener of listeners) listener(current);
}

export function useSession(): Session {
  const [session, setSession] = useState(current);
  useEffect(() => {
    listeners.add(setSession);
    return () => void listeners.delete(setSession);
  }, []);
  return session;
}
