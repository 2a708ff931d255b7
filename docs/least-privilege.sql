-- Least-privilege database roles for Sleepy Factory. Run once as a superuser (or the database
-- owner), after `sf migrate` created the tables as the owner role. psql variables:
--   psql -v app_password="'...'" -v db=sleepy -f docs/least-privilege.sql
--
-- sf_owner  runs migrations (the `migrate` service, `sf migrate`): owns and alters the schema.
-- sf_app    every other role and the CLI: reads and writes jobs, never changes the schema.

CREATE ROLE sf_app LOGIN PASSWORD :app_password;
GRANT CONNECT ON DATABASE :db TO sf_app;
GRANT USAGE ON SCHEMA public TO sf_app;
-- Jobs are created (INSERT), moved through their stages (UPDATE), pruned (DELETE).
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs, job_stages TO sf_app;
-- Roles refuse to start against a schema version they were not built for.
GRANT SELECT ON alembic_version TO sf_app;
-- No CREATE on the schema and no ownership: sf_app cannot create, alter or drop tables.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
