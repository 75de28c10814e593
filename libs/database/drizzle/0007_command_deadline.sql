-- A command's writes carry the time by which they must have started, so that
-- a statement reaching PostgreSQL late (a stalled network path delivers it
-- after the gateway has given up and answered) writes nothing. Checked here,
-- on PostgreSQL's clock, because only the database sees when a statement
-- really runs. Raises SQLSTATE BK001, which aborts the whole statement.
CREATE FUNCTION assert_before_deadline(deadline timestamptz) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF clock_timestamp() > deadline THEN
    RAISE EXCEPTION 'command reached the database after its deadline (%); nothing was written', deadline
      USING ERRCODE = 'BK001';
  END IF;
  RETURN true;
END;
$$;
