-- Who may call the web API: users (an argon2id PHC password hash) and API keys (the sha256 of a
-- random key; the key itself is shown once and never stored). Roles are the API's names
-- (viewer, trainer, admin); this store does not interpret them.
CREATE TABLE users (
    name TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE api_keys (
    name TEXT PRIMARY KEY NOT NULL,
    key_sha256 TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
