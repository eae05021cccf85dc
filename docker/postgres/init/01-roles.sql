-- Runs once, when the db container initialises an empty data directory, as the
-- bootstrap superuser quiver_owner (POSTGRES_USER) connected to database quiver.
--
-- Tables are created by the migrations, which run as quiver_owner (the table
-- owner). The application connects as quiver_app, a plain login role that is
-- subject to row-level security; the migrations GRANT it exactly what it needs.
-- quiver_owner is deliberately NOT made a member of quiver_app (or vice versa).
--
-- The pgvector extension (CREATE EXTENSION IF NOT EXISTS vector) is also
-- created by the migrations, not here.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'quiver_app') THEN
    CREATE ROLE quiver_app
      LOGIN
      PASSWORD 'quiver_app'
      NOSUPERUSER
      NOBYPASSRLS
      NOCREATEDB
      NOCREATEROLE;
  ELSE
    -- Re-assert the attributes RLS depends on if the role already existed.
    ALTER ROLE quiver_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

GRANT CONNECT ON DATABASE quiver TO quiver_app;
