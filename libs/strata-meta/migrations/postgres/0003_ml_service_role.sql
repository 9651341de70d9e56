-- The ML service may connect as a role of its own, `strata_ml`, which the deployment creates
-- before the first start (infra/k8s/components/postgres/initdb/ml-role.sql does on the dev
-- database). It reaches the job queue, the job events and the aliases, and nothing else: not the
-- web API's users and API keys. It creates no tables, so the schema's owner (the web API's
-- role) runs the migrations, and SELECT on sqlx's bookkeeping lets the ML service see that they
-- are applied. Where there is no such role, this grants nothing. A later migration that adds a
-- table the ML service uses grants it the same way.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strata_ml') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON jobs, job_events, model_aliases TO strata_ml;
        GRANT SELECT ON _sqlx_migrations TO strata_ml;
    END IF;
END
$$;
