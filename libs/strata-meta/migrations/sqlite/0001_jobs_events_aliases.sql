-- Training jobs: the record (a strata.ml.v1.TrainingJob, protobuf) plus the columns the queue
-- filters and locks on. `owner`/`attempt`/`lease_until` form the lease: a runner's writes name its
-- owner and attempt, so a replica whose lease was taken over can no longer change the job.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    state INTEGER NOT NULL,
    model_name TEXT NOT NULL,
    record BLOB NOT NULL,
    owner TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    next_sequence INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX jobs_by_state ON jobs (state, id);

-- Each job's events (strata.ml.v1.TrainingEvent, protobuf), numbered from 1 without gaps.
CREATE TABLE job_events (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,
    event BLOB NOT NULL,
    PRIMARY KEY (job_id, sequence)
);

CREATE TABLE model_aliases (
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (model, alias)
);
