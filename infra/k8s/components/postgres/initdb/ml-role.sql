-- Run once, when the empty database is initialised (the image's /docker-entrypoint-initdb.d), as
-- its owner `strata`, the web API's role. DEVELOPMENT ONLY, like the owner's password: it is in
-- git. The ML service's own role, with the password of its URL in `strata-ml-scale-out`: it may
-- log in and nothing more. The web API's first start migrates the schema as the owner, and
-- migration 0003 (libs/strata-meta/migrations/postgres) grants this role the job queue, the job
-- events and the aliases, never the users or API keys. No one but the owner creates tables.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE ROLE strata_ml LOGIN PASSWORD 'strata-ml-dev-only';
