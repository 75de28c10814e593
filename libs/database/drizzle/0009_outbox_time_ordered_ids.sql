-- Outbox ids become time-ordered (UUIDv7: 48 bits of Unix milliseconds, then random bits), so that an
-- insert adds to the right edge of the primary key's index. A random (v4) id lands on any page of that
-- index: once a long outbox's index outgrows memory, every reservation reads and dirties pages of it
-- (and, after each checkpoint, writes whole pages to the WAL). Still a UUID: the JetStream message id
-- and the notification service's event id keep their type. PostgreSQL 18 has uuidv7() built in.
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
  SELECT encode(
    set_bit(
      set_bit(
        overlay(uuid_send(gen_random_uuid())
                placing substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                FROM 1 FOR 6),
        52, 1),
      53, 1),
    'hex')::uuid;
$$;
--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "id" SET DEFAULT uuid_v7();
