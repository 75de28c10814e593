/** The LISTEN/NOTIFY channel the outbox trigger (migration 0006) signals after a commit. */
export const OUTBOX_NOTIFY_CHANNEL = 'outbox_pending';
