"""The black-box probe suite of the hardening issue (#17): hostile requests against the real
strata-api and strata-ml on loopback, as tools/api-fuzz/run starts and seeds them. Each probe is
one request (or gRPC call) that must be refused in the documented way, or a control that must
pass so the refusals around it mean something. Groups:

  forged-tokens   every secured operation of the served OpenAPI spec with ~30 bad tokens: alg
                  none, HS384/HS512, wrong key, kid tricks, tampered and re-signed claims
                  (expired, nbf/iat in the future, typ, audience, issuer, lifetime, role) -> 401
  role-matrix     every secured operation as viewer, trainer and admin (users made through the
                  admin API): below the role the spec documents -> 403, else a documented status
  ownership       trainer A vs trainer B on jobs, models and aliases; `production` only admins
  hostile-ids     every path parameter with traversal, injection, NUL, CRLF and oversize values
  malformed-http  broken framing, smuggling (CL.TE, TE.TE), oversize headers and URLs, cut-off
                  requests: a bare 4xx or no answer from the HTTP layer, never a 2xx or a 5xx
  oversize        JSON bodies and multipart parts beyond the limits -> 413
  parquet-bombs   hostile Parquet uploads (huge label, millions of RLE rows, deep nesting, long
                  strings, many columns, lying footers) -> 400 naming the limit's flag
  ml-grpc         every RPC of proto/ on the ML port without or with forged caller tokens ->
                  UNAUTHENTICATED; ImportModel outside its import directory refused
  rate-limit      junk tokens, rotating X-Forwarded-For, forged subjects: no fresh buckets (429);
                  an oversize Authorization header -> 400
  sign-in-flood   per-account and per-address back-off (429 + Retry-After), unthrottled
                  accounts still sign in, the right password works after the wait

Every refusal must be a 4xx with `Content-Type: application/problem+json` (or the expected gRPC
status); a 5xx (INTERNAL/UNKNOWN over gRPC), an accepted forgery or a dead process fails the run.
After every group each server process must still run and answer its health check. Prints one
line per group, the totals (`probes: N tried, N refused, 0 got a 5xx, 0 crashed a process`) and
`api-probes: N passed, N failed in Ts` (groups), and exits non-zero on any failure.

The rate-limit and sign-in groups run against a strata-api on the ML service with real limits
(`STRATA_PROBE_LIMITS_API`); the rest against one set up as the fuzzed API, with wide limits, whose
users the fuzzer never saw (`STRATA_PROBE_API`).
Sources are bound to distinct loopback addresses (127.0.0.x) so each probe has its own client
address and the back-off of one never throttles another.

Env (set by tools/api-fuzz/run): STRATA_PROBE_API, STRATA_PROBE_LIMITS_API, STRATA_PROBE_ML
(host:port), STRATA_PROBE_JWT_KEY and STRATA_PROBE_CALLER_KEY (kid:secret, to sign tampered
claims with the real keys), STRATA_PROBE_ADMIN_PASSWORD (of `admin` on both APIs),
STRATA_PROBE_PIDS (every server process),
STRATA_PROBE_DIGITS (the sample Parquet file), STRATA_PROBE_MAX_BODY_BYTES,
STRATA_PROBE_ML_MAX_UPLOAD_BYTES, STRATA_PROBE_LIMITS_MAX_UPLOAD_BYTES,
STRATA_PROBE_SIGN_IN_FREE_FAILURES, STRATA_PROBE_LIMITS_RATE, STRATA_PROBE_LIMITS_BURST (what the
limits API was started with), STRATA_PROBE_VERBOSE=1 (print every probe and its answer).
"""

import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import io
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

import grpc
import pyarrow as pa
import pyarrow.parquet as pq

ENV = os.environ
API = ENV["STRATA_PROBE_API"]
LIMITS_API = ENV["STRATA_PROBE_LIMITS_API"]
ML = ENV["STRATA_PROBE_ML"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBLEM = "application/problem+json"
ROLES = ["viewer", "trainer", "admin"]
NOW = lambda: int(time.time())  # noqa: E731


# --- HTTP, by hand: any header bytes, any source address, chunked bodies ---------------------


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def is_problem(self):
        return self.headers.get("content-type", "").startswith(PROBLEM)

    def __repr__(self):
        return f"{self.status} {self.headers.get('content-type', '')} {self.body[:200]!r}"


def request(method, base, path, headers=(), body=None, source=None, chunked=False, timeout=60):
    """One request on a fresh connection; status None when the server answered nothing."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(
        u.hostname, u.port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None and chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            if body is not None and chunked:
                step = 256 * 1024
                for i in range(0, len(body), step):
                    part = body[i : i + step]
                    conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
                conn.send(b"0\r\n\r\n")
            elif body:
                conn.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before reading it all (a limit): read that answer
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    except (ConnectionError, http.client.HTTPException, TimeoutError, OSError) as e:
        return Resp(None, {}, repr(e).encode())
    finally:
        conn.close()


def bearer(token):
    return [("authorization", f"Bearer {token}")]


def jbody(value):
    return json.dumps(value).encode()


JSON = [("content-type", "application/json")]


def multipart(parts):
    """parts: (name, content-type, bytes); returns (headers, body)."""
    boundary = "probe" + secrets.token_hex(12)
    out = io.BytesIO()
    for name, ctype, data in parts:
        filename = '; filename="data.parquet"' if name == "file" else ""
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"{filename}\r\n'.encode())
        out.write(f"Content-Type: {ctype}\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return [("content-type", f"multipart/form-data; boundary={boundary}")], out.getvalue()


def upload_form(metadata, data, file_first=False):
    meta = ("metadata", "application/json", jbody(metadata))
    file = ("file", "application/octet-stream", data)
    return multipart([file, meta] if file_first else [meta, file])


# --- JWTs, by hand ---------------------------------------------------------------------------


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(header, claims, secret, alg=None):
    alg = alg or header.get("alg", "HS256")
    signing = f"{b64(jbody(header))}.{b64(jbody(claims))}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    mac = hmac.new(secret if isinstance(secret, bytes) else secret.encode(), signing.encode(), digest)
    return f"{signing}.{b64(mac.digest())}"


def claims_of(token):
    return json.loads(unb64(token.split(".")[1]))


def key(spec):
    kid, secret = spec.split(",")[0].split(":", 1)
    return kid, secret


# --- bookkeeping -----------------------------------------------------------------------------

# Refusals known to have the wrong status, each a bug reported and not yet fixed: (pattern of the
# probe's name, the status it gets, why). They are counted as refused and listed at the end, so
# the rest of the suite stays a gate; one that starts getting the expected status fails the run
# until its line here is removed, so the list only shrinks.
KNOWN = []


class Group:
    def __init__(self, name):
        self.name, self.tried, self.refused, self.passed_controls = name, 0, 0, 0
        self.fivexx, self.failures, self.known = 0, [], {}

    def fail(self, what):
        self.failures.append(what)
        if len(self.failures) <= 20:
            print(f"probes: FAILED: {self.name}: {what}", file=sys.stderr)

    def refused_http(self, what, r, statuses, detail_has=None):
        """A probe that must be refused with one of `statuses`, as problem+json."""
        self.tried += 1
        verbose(self, what, r)
        if r.status is None:
            self.fail(f"{what}: no answer ({r.body.decode(errors='replace')})")
        elif r.status >= 500:
            self.fivexx += 1
            self.fail(f"{what}: got a {r.status}: {r!r}")
        elif 200 <= r.status < 300:
            self.fail(f"{what}: ACCEPTED ({r.status}), must be refused with {sorted(statuses)}")
        elif r.status not in statuses:
            known = next((k for k in KNOWN if re.search(k[0], what) and k[1] == r.status), None)
            if known and r.is_problem():
                self.known[known[2]] = self.known.get(known[2], 0) + 1
                self.refused += 1
                return True
            self.fail(f"{what}: {r.status}, expected {sorted(statuses)}: {r!r}")
        elif not r.is_problem():
            self.fail(f"{what}: {r.status} is not problem+json: {r!r}")
        elif detail_has and detail_has not in str((r.json() or {}).get("detail")):
            self.fail(f"{what}: detail does not name {detail_has!r}: {r!r}")
        else:
            fixed = next((k for k in KNOWN if re.search(k[0], what)), None)
            if fixed:
                self.fail(f"{what}: now {r.status} as expected: remove its KNOWN entry ({fixed[2][:60]}...)")
                return False
            self.refused += 1
            return True
        return False

    def control(self, what, r, statuses):
        """A request that must succeed (or end as `statuses` say): what the refusals are against."""
        self.tried += 1
        verbose(self, f"control {what}", r)
        if r.status is not None and r.status >= 500:
            self.fivexx += 1
        if r.status in statuses:
            self.passed_controls += 1
            return True
        self.fail(f"control {what}: {r!r}, expected {sorted(statuses)}")
        return False

    def refused_grpc(self, what, outcome, codes):
        """A gRPC probe that must end with one of `codes`."""
        code, details = outcome
        self.tried += 1
        verbose(self, what, f"{code.name} {details[:160]}")
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS):
            self.fivexx += 1
            self.fail(f"{what}: {code.name} {details}")
        elif code == grpc.StatusCode.OK:
            self.fail(f"{what}: ACCEPTED, must be refused with {[c.name for c in codes]}")
        elif code not in codes:
            self.fail(f"{what}: {code.name} {details!r}, expected {[c.name for c in codes]}")
        else:
            self.refused += 1
            return True
        return False

    def check(self, ok, what):
        """A fact about state after probes (e.g. an alias did not move)."""
        if not ok:
            self.fail(what)


crashed = {}  # what died or stopped answering -> the group after which it was first seen


def verbose(group, what, outcome):
    """With STRATA_PROBE_VERBOSE=1, every probe and what it got (status and problem detail)."""
    if ENV.get("STRATA_PROBE_VERBOSE") == "1":
        if isinstance(outcome, Resp):
            outcome = f"{outcome.status} {str((outcome.json() or {}).get('detail', '') if outcome.body[:1] == b'{' else '')[:160]}"
        print(f"probes:     {group.name}: {what} -> {ascii(outcome)[1:-1]}")


def alive(group):
    """Every server process runs and answers its health check."""
    for pid in ENV.get("STRATA_PROBE_PIDS", "").split():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            crashed.setdefault(f"pid {pid}", group.name)
            group.fail(f"process {pid} died")
    for base, path in [(API, "/healthz"), (API, "/readyz"), (LIMITS_API, "/healthz")]:
        r = request("GET", base, path, timeout=30)
        if r.status != 200:
            crashed.setdefault(f"{base}{path}", group.name)
            group.fail(f"{base}{path} answers {r!r}")
    code, _ = grpc_call("/grpc.health.v1.Health/Check", b"", None)
    if code != grpc.StatusCode.OK:
        crashed.setdefault("the ML health check", group.name)
        group.fail(f"ML health check: {code}")


# --- the spec ----------------------------------------------------------------------------------


def load_spec():
    r = request("GET", API, "/openapi.json")
    assert r.status == 200, r
    return r.json()


def resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def instance(spec, schema):
    """The smallest value the schema allows: required fields only, examples where given;
    `max_tokens` at its minimum so an allowed generation is one token."""
    schema = resolve(spec, schema)
    if "allOf" in schema:
        out = {}
        for part in schema["allOf"]:
            out.update(instance(spec, part))
        return out
    for alt in ("oneOf", "anyOf"):
        if alt in schema:
            options = [o for o in schema[alt] if resolve(spec, o).get("type") != "null"]
            return instance(spec, options[0])
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        props = schema.get("properties", {})
        out = {k: instance(spec, props[k]) for k in schema.get("required", [])}
        if "max_tokens" in props:
            out["max_tokens"] = 1
        return out
    if kind == "array":
        return [instance(spec, schema.get("items", {}))] * max(1, schema.get("minItems", 1))
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return None


def required_role(op):
    """The role the spec documents for an operation: `(admin)`/`(admins only)`/`(trainer)`/
    `(viewer)` in its summary, else its 403 response (`Not an admin`: admin; any other 403: the
    role above viewer), else any signed-in principal. `None` for unsecured operations."""
    if not op.get("security"):
        return None
    summary = op.get("summary", "")
    forbidden = op["responses"].get("403", {}).get("description", "")
    said = re.search(r"\((admins? only|admin|trainer|viewer)[);,]", summary)
    by_summary = said and ("admin" if said.group(1).startswith("admin") else said.group(1))
    if forbidden.startswith("Not an admin") or "not an admin" in forbidden:
        by_403 = "admin"
    elif forbidden:
        by_403 = "trainer"
    else:
        by_403 = "viewer"
    if by_summary and by_summary != by_403:
        raise SystemExit(f"probes: the spec disagrees with itself on {op['operationId']}: "
                         f"summary says {by_summary}, 403 says {by_403}")
    return by_summary or by_403


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield method.upper(), path, op


class Seeded:
    """What the fuzz stack was seeded with, read back through the API."""

    def __init__(self, admin, digits):
        datasets = request("GET", API, "/v1/datasets", bearer(admin)).json()["datasets"]
        if not datasets:  # the fuzzer may have deleted the seeded one
            headers, body = upload_form({"name": "probe-seed", "schema": {"label_column": "label"}}, digits)
            datasets = [request("POST", API, "/v1/datasets", bearer(admin) + headers, body).json()]
        self.dataset = datasets[0]["id"]
        # A finished job, so its event stream ends after its events.
        r = request("GET", API, "/v1/training-jobs?state=succeeded", bearer(admin))
        self.job = r.json()["jobs"][0]["id"]
        self.model = "digits"
        if request("GET", API, "/v1/models/digits", bearer(admin)).status != 200:
            self.model = request("GET", API, "/v1/models", bearer(admin)).json()["models"][0]["name"]


def concrete(spec, method, path, op, seeded, real, override=None):
    """(path, headers, body) of a schema-valid request. With `real`, path parameters name the
    seeded objects (reads answer 200); otherwise objects that do not exist, so an allowed call
    changes nothing that is there."""
    values = {}
    for p in op.get("parameters", []):
        if p["in"] != "path":
            continue
        name = p["name"]
        if name == "id":
            values[name] = (seeded.dataset if "/datasets" in path else seeded.job) if real else "probe-missing"
        elif name == "name":
            values[name] = seeded.model if real and "/models" in path else "probe-missing"
        elif name == "alias":
            values[name] = "probe-matrix"
        elif name == "version":
            values[name] = "v1" if real else "v999"
        else:
            values[name] = "probe"
    values.update(override or {})
    url = re.sub(r"\{(\w+)\}", lambda m: urllib.parse.quote(values[m.group(1)], safe="@" if not override else ""), path)
    body_spec = op.get("requestBody", {}).get("content", {})
    if "application/json" in body_spec:
        body = instance(spec, body_spec["application/json"]["schema"])
        if not real and isinstance(body, dict) and "model_name" in body:
            body["model_name"] = "probe-matrix"  # a new model: the seeded one has an owner
        return url, JSON, jbody(body)
    if "multipart/form-data" in body_spec:
        form = resolve(spec, body_spec["multipart/form-data"]["schema"])
        metadata = instance(spec, form["properties"]["metadata"])
        metadata["name"] = "probe-matrix"
        headers, body = upload_form(metadata, b"PAR1 not really parquet PAR1")
        return url, headers, body
    return url, [], None


# --- setup -------------------------------------------------------------------------------------


def sign_in(base, user, password, source=None):
    r = request("POST", base, "/v1/auth/token", JSON, jbody({"username": user, "password": password}), source=source)
    assert r.status == 200, f"sign in {user} at {base}: {r!r}"
    return r.json()["access_token"]


def create_user(base, admin, name, role):
    password = secrets.token_urlsafe(18)
    r = request("POST", base, "/v1/auth/users", bearer(admin) + JSON,
                jbody({"username": name, "password": password, "role": role}))
    assert r.status == 201, f"create {name}: {r!r}"
    return password


def wait_job(token, job, states=("succeeded",), timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = request("GET", API, f"/v1/training-jobs/{job}", bearer(token)).json()["state"]
        if state in states or state in ("failed", "cancelled", "succeeded"):
            return state
        time.sleep(0.3)
    return "timeout"


def create_job(token, model, dataset, epochs):
    return request("POST", API, "/v1/training-jobs", bearer(token) + JSON, jbody({
        "model_name": model, "kind": "mlp-classifier", "dataset_id": dataset,
        "hyperparameters": {"epochs": epochs, "seed": 1},
    }))


# --- groups ------------------------------------------------------------------------------------


def forged_tokens(g, spec, ctx):
    kid, secret = key(ENV["STRATA_PROBE_JWT_KEY"])
    real = claims_of(ctx["viewer"])
    now = NOW()
    head = {"alg": "HS256", "typ": "at+jwt", "kid": kid}

    def with_(changes, header=None, key_=secret):
        claims = {**real, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        return sign({**head, **(header or {})}, claims, key_)

    parts = ctx["viewer"].split(".")
    escalated = {**real, "role": "admin", "sub": "admin"}
    attacker = secrets.token_bytes(32)
    caller_kid, caller_secret = key(ENV["STRATA_PROBE_CALLER_KEY"])
    bad = [
        ("no Authorization", []),
        ("empty bearer", [("authorization", "Bearer ")]),
        ("garbage", bearer("not.a.jwt")),
        ("two segments", bearer("a.b")),
        ("dots only", bearer("....")),
        ("non-ASCII header bytes", [("authorization", b"Bearer \xff\xfe\x80junk")]),
        ("lower-case scheme", [("authorization", f"bearer {ctx['viewer']}")]),
        ("Basic scheme", [("authorization", "Basic " + b64(b"admin:admin"))]),
        ("token in the query only", []),
        ("alg none", bearer(f"{b64(jbody({**head, 'alg': 'none'}))}.{parts[1]}.")),
        ("alg None", bearer(f"{b64(jbody({**head, 'alg': 'None'}))}.{parts[1]}.")),
        ("alg none, real signature", bearer(f"{b64(jbody({**head, 'alg': 'none'}))}.{parts[1]}.{parts[2]}")),
        ("HS384 with the real key", bearer(sign({**head, "alg": "HS384"}, real, secret))),
        ("HS512 with the real key", bearer(sign({**head, "alg": "HS512"}, real, secret))),
        ("RS256 header, HMAC signature", bearer(sign({**head, "alg": "RS256"}, real, secret, "HS256"))),
        ("HS256 with a wrong key", bearer(sign(head, real, attacker))),
        ("embedded jwk", bearer(sign({**head, "jwk": {"kty": "oct", "k": b64(attacker)}}, real, attacker))),
        ("jku to loopback", bearer(sign({**head, "jku": "http://127.0.0.1:1/jwks"}, real, attacker))),
        ("kid path traversal, empty key", bearer(sign({**head, "kid": "../../../../../../dev/null"}, real, b""))),
        ("kid path traversal, real key", bearer(sign({**head, "kid": f"../{kid}"}, real, secret))),
        ("kid SQL", bearer(sign({**head, "kid": "' OR '1'='1"}, real, secret))),
        ("unknown kid", bearer(sign({**head, "kid": "k-unknown"}, real, secret))),
        ("empty kid", bearer(sign({**head, "kid": ""}, real, secret))),
        ("no kid", bearer(sign({"alg": "HS256", "typ": "at+jwt"}, real, secret))),
        ("kid as a number", bearer(sign({**head, "kid": 1}, real, secret))),
        ("role escalation, old signature", bearer(f"{parts[0]}.{b64(jbody({**real, 'role': 'admin'}))}.{parts[2]}")),
        ("sub escalation, old signature", bearer(f"{parts[0]}.{b64(jbody(escalated))}.{parts[2]}")),
        ("role escalation, wrong key", bearer(sign(head, escalated, attacker))),
        ("expired", bearer(with_({"iat": now - 7200, "exp": now - 3600}))),
        ("nbf in the future", bearer(with_({"nbf": now + 3600}))),
        ("iat in the future", bearer(with_({"iat": now + 3600, "exp": now + 5400}))),
        ("lifetime beyond the server's", bearer(with_({"iat": now, "exp": now + 30 * 86400}))),
        ("exp beyond u64", bearer(with_({"exp": 10**30}))),
        ("exp as a string", bearer(with_({"exp": str(now + 60)}))),
        ("no exp", bearer(with_({"exp": None}))),
        ("typ JWT", bearer(with_({}, {"typ": "JWT"}))),
        ("no typ", bearer(sign({"alg": "HS256", "kid": kid}, real, secret))),
        ("caller token typ", bearer(with_({}, {"typ": "strata-caller+jwt"}))),
        ("a real ML caller token", bearer(sign({"alg": "HS256", "typ": "strata-caller+jwt", "kid": caller_kid},
                                               {"sub": "admin", "role": "admin", "iss": "strata-api", "aud": "strata-ml",
                                                "iat": now, "exp": now + 60}, caller_secret))),
        ("wrong audience", bearer(with_({"aud": "strata-ml"}))),
        ("audience list", bearer(with_({"aud": ["someone-else", real["aud"]]}))),
        ("wrong issuer", bearer(with_({"iss": "someone-else"}))),
        ("stale credential", bearer(with_({"cred": "0000000000000000"}))),
        ("unknown principal", bearer(with_({"sub": "nobody"}))),
        ("user named as an API key", bearer(with_({"kind": "api_key"}))),
        ("no credential tag", bearer(with_({"cred": None}))),
    ]
    # The unaltered claims re-signed pass, so each refusal is for its one flaw.
    g.control("re-signed real claims", request("GET", API, "/v1/auth/me", bearer(with_({}))), {200})
    ops = [(m, p, o) for m, p, o in operations(spec) if o.get("security")]
    g.check(len(ops) >= 10, f"only {len(ops)} secured operations in the spec")
    for method, path, op in ops:
        url, headers, body = concrete(spec, method, path, op, ctx["seeded"], real=False)
        for what, auth in bad:
            target = url
            if what == "token in the query only":
                target += ("&" if "?" in url else "?") + "access_token=" + ctx["admin"]
            r = request(method, API, target, auth + headers, body)
            g.refused_http(f"{method} {path} with {what}", r, {401})
    # Claims re-signed with the real key but a higher role act with the principal's stored role.
    token = with_({"role": "admin"})
    me = request("GET", API, "/v1/auth/me", bearer(token))
    g.control("an escalated role re-signed is the stored role", me, {200})
    g.check((me.json() or {}).get("role") == "viewer", f"escalated token acts as {me!r}")
    for method, path, op in ops:
        if required_role(op) in ("trainer", "admin") and "{name}/password" not in path:
            url, headers, body = concrete(spec, method, path, op, ctx["seeded"], real=False)
            r = request(method, API, url, bearer(token) + headers, body)
            g.refused_http(f"{method} {path} with an escalated role re-signed", r, {403})


def role_matrix(g, spec, ctx):
    rank = {r: i for i, r in enumerate(ROLES)}
    principals = [(role, ctx[role]) for role in ROLES] + [(f"{role} API key", ctx[f"key-{role}"]) for role in ROLES]
    for method, path, op in operations(spec):
        needed = required_role(op)
        if needed is None:
            continue
        documented = {int(s) for s in op["responses"]}
        for who, token in principals:
            role = who.split()[0]
            url, headers, body = concrete(spec, method, path, op, ctx["seeded"], real=needed == "viewer")
            r = request(method, API, url, bearer(token) + headers, body, timeout=120)
            what = f"{method} {path} as {who} (needs {needed})"
            if rank[role] < rank[needed]:
                g.refused_http(what, r, {403})
            else:
                allowed = documented - {401, 403}
                ok = r.status in allowed and r.status < 500 and (r.status < 400 or r.is_problem())
                if method == "GET" and needed == "viewer":
                    ok = ok and r.status == 200
                g.control(what, r, {r.status} if ok else allowed)
    # Someone else's password: only admins; one's own needs the current one.
    for role in ("viewer", "trainer"):
        other = "probe-trainer-b" if role == "viewer" else "probe-viewer"
        r = request("PUT", API, f"/v1/auth/users/{other}/password", bearer(ctx[role]) + JSON,
                    jbody({"new_password": secrets.token_urlsafe(16)}))
        g.refused_http(f"{role} sets {other}'s password", r, {403})
        r = request("PUT", API, f"/v1/auth/users/probe-{role}/password" if role == "viewer" else
                    "/v1/auth/users/probe-trainer-a/password", bearer(ctx[role]) + JSON,
                    jbody({"new_password": secrets.token_urlsafe(16), "current_password": "wrong-password"}))
        g.refused_http(f"{role} sets own password with a wrong current one", r, {403})
    r = request("POST", API, "/v1/auth/users", bearer(ctx["trainer"]) + JSON,
                jbody({"username": "probe-sneaky", "password": secrets.token_urlsafe(16), "role": "admin"}))
    g.refused_http("trainer creates an admin", r, {403})
    users = [p["name"] for p in request("GET", API, "/v1/auth/principals", bearer(ctx["admin"])).json()]
    g.check("probe-sneaky" not in users, "a trainer created a user")


def ownership(g, spec, ctx):
    a, b, viewer, admin = ctx["trainer"], ctx["trainer-b"], ctx["viewer"], ctx["admin"]
    headers, body = upload_form({"name": "probe-owned", "schema": {"label_column": "label"}}, ctx["digits"])
    r = request("POST", API, "/v1/datasets", bearer(a) + headers, body)
    assert r.status == 201, r
    dataset = r.json()["id"]
    # Two finished models, one each, and a long job of A's to cancel.
    jobs = {}
    for who, model in ((a, "probe-a"), (b, "probe-b")):
        r = create_job(who, model, dataset, 1)
        assert r.status == 201, r
        jobs[model] = r.json()["id"]
    for model, job in jobs.items():
        state = wait_job(admin, job)
        assert state == "succeeded", f"{model}: {state}"
    r = create_job(a, "probe-a", dataset, 500)
    assert r.status == 201, r
    long_job = r.json()["id"]

    def alias_of(model, alias):
        m = request("GET", API, f"/v1/models/{model}", bearer(admin)).json()
        return (m.get("aliases") or {}).get(alias)

    # Jobs: only the owner or an admin cancels.
    for who, name in ((b, "trainer B"), (viewer, "viewer")):
        r = request("POST", API, f"/v1/training-jobs/{long_job}:cancel", bearer(who))
        g.refused_http(f"{name} cancels A's job", r, {403})
    state = request("GET", API, f"/v1/training-jobs/{long_job}", bearer(admin)).json()["state"]
    g.check(state in ("queued", "running"), f"A's job is {state} after refused cancels")
    g.control("A cancels A's job", request("POST", API, f"/v1/training-jobs/{long_job}:cancel", bearer(a)), {200})
    r = create_job(a, "probe-a", dataset, 500)
    job2 = r.json()["id"]
    g.control("an admin cancels A's job", request("POST", API, f"/v1/training-jobs/{job2}:cancel", bearer(admin)), {200})
    # Models: nobody retrains someone else's model name.
    for who, name, model in ((b, "trainer B", "probe-a"), (a, "trainer A", "probe-b"), (a, "trainer A", "digits"), (b, "trainer B", "digits")):
        g.refused_http(f"{name} retrains {model}", create_job(who, model, dataset, 1), {403})
    # Aliases: the owner moves its own, an admin any, `production` only admins.
    for model, owner, other in (("probe-a", a, b), ("probe-b", b, a)):
        for who, name in ((other, "the other trainer"), (viewer, "viewer")):
            for alias in ("staging", "canary", "production"):
                r = request("PUT", API, f"/v1/models/{model}/aliases/{alias}", bearer(who) + JSON, jbody({"version": "v1"}))
                g.refused_http(f"{name} moves {model}@{alias}", r, {403})
        r = request("PUT", API, f"/v1/models/{model}/aliases/production", bearer(owner) + JSON, jbody({"version": "v1"}))
        g.refused_http(f"the owner moves {model}@production (protected)", r, {403})
        g.check(alias_of(model, "production") is None, f"{model}@production moved")
        g.check(alias_of(model, "staging") is None, f"{model}@staging moved")
        r = request("PUT", API, f"/v1/models/{model}/aliases/staging", bearer(owner) + JSON, jbody({"version": "v1"}))
        g.control(f"the owner moves {model}@staging", r, {200})
        r = request("PUT", API, f"/v1/models/{model}/aliases/production", bearer(admin) + JSON, jbody({"version": "v1"}))
        g.control(f"an admin moves {model}@production", r, {200})
        r = request("DELETE", API, f"/v1/models/{model}/versions/v1", bearer(other))
        g.refused_http(f"the other trainer deletes {model}/v1", r, {403})
    for who, name in ((a, "trainer A"), (b, "trainer B")):
        r = request("PUT", API, "/v1/models/digits/aliases/production", bearer(who) + JSON, jbody({"version": "v1"}))
        g.refused_http(f"{name} moves the seeded digits@production", r, {403})
        r = request("PUT", API, "/v1/models/digits/aliases/staging", bearer(who) + JSON, jbody({"version": "v1"}))
        g.refused_http(f"{name} moves the admin's digits@staging", r, {403})
        r = request("DELETE", API, f"/v1/datasets/{dataset}", bearer(who))
        g.refused_http(f"{name} deletes a dataset", r, {403})
    # Reading stays open to every role.
    for who, name in ((b, "trainer B"), (viewer, "viewer")):
        r = request("POST", API, "/v1/models/probe-a@production:predict", bearer(who) + JSON, jbody({"features": [[0.0] * 64]}))
        g.control(f"{name} predicts with A's model", r, {200})


HOSTILE_IDS = [
    "..", "../../../../etc/passwd", "..\\..\\windows", "%2e%2e%2f", "/etc/passwd", "a/b", ".hidden",
    "' OR '1'='1", "1; DROP TABLE users; --", "x\x00y", "\r\nX-Injected: 1", "$(id)", "`id`", "{{7*7}}",
    "<script>alert(1)</script>", "\u202egnp.exe", "é" * 40, "x" * 129, "x" * 8000, " ", "",
]


def hostile_ids(g, spec, ctx):
    """Every path parameter of every operation with a hostile value, as an admin: a 4xx problem,
    never a 2xx (nothing matches) or a 5xx. The value is percent-encoded whole, so it reaches the
    route as one segment."""
    for method, path, op in operations(spec):
        params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
        if not params:
            continue
        auth = bearer(ctx["admin"]) if op.get("security") else []
        for param in params:
            for value in HOSTILE_IDS:
                url, headers, body = concrete(spec, method, path, op, ctx["seeded"], real=False, override={param: value})
                r = request(method, API, url, auth + headers, body, timeout=30)
                g.check("x-injected" not in r.headers, f"{method} {path}: a header was injected")
                g.refused_http(f"{method} {path} with {param}={value[:40]!r}", r,
                               {400, 404, 405, 409, 413, 414, 422})


def raw_exchange(base, data, timeout=15):
    """Sends raw bytes on one connection, keeping it open (hyper drops a request whose client
    half-closes); the status codes of every response read back, once the server closes or has
    been quiet for a moment after answering (or for 3 s without)."""
    import socket
    u = urllib.parse.urlsplit(base)
    statuses = []
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # answered and closed before taking it all
        received, waited = b"", 0.0
        sock.settimeout(0.5)
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                waited += 0.5
                if received or waited >= 3:
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    for m in re.finditer(rb"HTTP/1\.[01] (\d{3})", received):
        statuses.append(int(m.group(1)))
    return statuses


def malformed_http(g, spec, ctx):
    """Requests broken at the HTTP layer (hyper answers them before the app, so a bare 4xx or a
    closed connection is the refusal): never a 2xx for a secured route, never a 5xx, nobody dies.
    Smuggling attempts hide a second request for an admin-only route after the first."""
    host = b"Host: 127.0.0.1\r\n"
    hidden = b"GET /v1/auth/principals HTTP/1.1\r\n" + host + b"\r\n"
    cases = [
        ("NUL in a header value", b"GET /v1/auth/me HTTP/1.1\r\n" + host + b"Authorization: Bearer a\x00b\r\n\r\n"),
        ("a 1 MiB header", b"GET /healthz HTTP/1.1\r\n" + host + b"X-Junk: " + b"a" * (1 << 20) + b"\r\n\r\n"),
        ("5000 headers", b"GET /healthz HTTP/1.1\r\n" + host + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n"),
        ("a 100 KiB URL", b"GET /v1/datasets/" + b"a" * (100 << 10) + b" HTTP/1.1\r\n" + host + b"\r\n"),
        ("a bad method", b"G\x01T /healthz HTTP/1.1\r\n" + host + b"\r\n"),
        ("HTTP/9.9", b"GET /healthz HTTP/9.9\r\n" + host + b"\r\n"),
        ("a Content-Length past u64", b"POST /v1/auth/token HTTP/1.1\r\n" + host + b"Content-Length: 99999999999999999999999\r\n\r\n{}"),
        ("a negative Content-Length", b"POST /v1/auth/token HTTP/1.1\r\n" + host + b"Content-Length: -1\r\n\r\n{}"),
        ("two Content-Lengths", b"POST /v1/auth/token HTTP/1.1\r\n" + host + b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}" + hidden),
        ("Content-Length and chunked (CL.TE)", b"POST /v1/auth/token HTTP/1.1\r\n" + host +
         b"Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden),
        ("chunked, obfuscated (TE.TE)", b"POST /v1/auth/token HTTP/1.1\r\n" + host +
         b"Content-Type: application/json\r\nTransfer-Encoding: xchunked\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + hidden),
        ("a bad chunk size", b"POST /v1/auth/token HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("a raw dot-dot path", b"GET /v1/../../../etc/passwd HTTP/1.1\r\n" + host + b"\r\n"),
        ("a header without a colon", b"GET /healthz HTTP/1.1\r\n" + host + b"NoColonHere\r\n\r\n"),
        ("a request cut off in its headers", b"GET /v1/auth/me HTTP/1.1\r\n" + host + b"Authorization: Bea"),
        ("a body cut off", b"POST /v1/auth/token HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":"),
    ]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda case: (case[0], case[1], raw_exchange(API, case[1])), cases * 2))
    for what, _, statuses in answers:
        g.tried += 1
        verbose(g, what, statuses or "no answer")
        if any(s >= 500 for s in statuses):
            g.fivexx += 1
            g.fail(f"{what}: got {statuses}")
        elif any(200 <= s < 300 for s in statuses):
            g.fail(f"{what}: ACCEPTED ({statuses})")
        else:
            g.refused += 1


def oversize(g, spec, ctx):
    admin = ctx["admin"]
    limit = int(ENV.get("STRATA_PROBE_MAX_BODY_BYTES", 2 * 1024 * 1024))
    for method, path, op in operations(spec):
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            continue
        url, headers, _ = concrete(spec, method, path, op, ctx["seeded"], real=False)
        big = jbody({"padding": "x" * (limit + 1)})
        auth = bearer(admin) if op.get("security") else []
        for chunked in (False, True):
            r = request(method, API, url, auth + headers, big, chunked=chunked)
            g.refused_http(f"{method} {path} with {len(big)} bytes{' chunked' if chunked else ''}", r, {413})
        # Without a token too: the body limit holds whoever sends it (401 is as good).
        r = request(method, API, url, headers, big)
        g.refused_http(f"{method} {path} anonymous with {len(big)} bytes", r, {401, 413})
    # Multipart: the metadata part has its own limit, whatever the order of parts.
    meta = {"name": "probe-big", "schema": {"label_column": "label"}, "description": "x" * (1 << 20)}
    for file_first in (False, True):
        headers, body = upload_form(meta, ctx["digits"], file_first)
        r = request("POST", API, "/v1/datasets", bearer(admin) + headers, body)
        g.refused_http(f"upload with a 1 MiB metadata part (file first: {file_first})", r, {413}, "metadata")
    # A file beyond the ML service's limit (the API's is wider): 413, not 429 or 5xx.
    ml_limit = int(ENV["STRATA_PROBE_ML_MAX_UPLOAD_BYTES"])
    junk = b"PAR1" + b"\0" * (ml_limit + 1024)
    for file_first in (False, True):
        for chunked in (False, True):
            headers, body = upload_form({"name": "probe-huge", "schema": {"label_column": "label"}}, junk, file_first)
            r = request("POST", API, "/v1/datasets", bearer(admin) + headers, body, chunked=chunked)
            g.refused_http(f"upload beyond the ML limit (file first: {file_first}, chunked: {chunked})", r, {413}, str(ml_limit))
    # A file beyond the API's own limit (on the API configured below the ML service's).
    api_limit = int(ENV["STRATA_PROBE_LIMITS_MAX_UPLOAD_BYTES"])
    junk = b"PAR1" + b"\0" * (api_limit + 1024)
    for chunked in (False, True):
        headers, body = upload_form({"name": "probe-huge", "schema": {"label_column": "label"}}, junk)
        r = request("POST", LIMITS_API, "/v1/datasets", bearer(ctx["limits-admin"]) + headers, body, chunked=chunked)
        g.refused_http(f"upload beyond the API limit (chunked: {chunked})", r, {413})
    names = [d["name"] for d in request("GET", API, "/v1/datasets", bearer(admin)).json()["datasets"]]
    g.check(not {"probe-big", "probe-huge"} & set(names), f"an oversize upload was stored: {names}")


def parquet(table, **kw):
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy", row_group_size=1 << 24,
                   dictionary_pagesize_limit=64 << 20, store_schema=False, **kw)
    return buf.getvalue()


def deep_nesting(depth):
    """A Parquet file with no row groups whose schema nests `depth` groups around one int64
    leaf (the Thrift compact footer written by hand, as strata_testkit::hostile::deep_nesting)."""
    def varint(v):
        out = bytearray()
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
        return bytes(out)

    def zigzag(v):
        return varint((v << 1) ^ (v >> 63))

    def element(name, children, leaf, root):
        out, last = bytearray(), 0
        def field(fid, ty):
            nonlocal last
            out.append(((fid - last) << 4) | ty)
            last = fid
        if leaf:
            field(1, 5); out.extend(zigzag(2))  # type INT64
        if not root:
            field(3, 5); out.extend(zigzag(0))  # REQUIRED
        field(4, 8); out.extend(varint(len(name)) + name.encode())
        if children is not None:
            field(5, 5); out.extend(zigzag(children))
        out.append(0)
        return bytes(out)

    footer = bytearray([0x15, 0x02, 0x19, 0xFC]) + varint(depth + 2)
    footer += element("schema", 1, False, True)
    for i in range(depth):
        footer += element(f"g{i}", 1, False, False)
    footer += element("leaf", None, True, False)
    footer += bytes([0x16]) + zigzag(0) + bytes([0x19, 0x0C, 0x00])
    return b"PAR1" + bytes(footer) + len(footer).to_bytes(4, "little") + b"PAR1"


def parquet_bombs(g, spec, ctx):
    features = {"feature_columns": ["x"], "label_column": "y"}
    text = {"text_column": "text", "label_column": "label"}

    def labels(label):
        return parquet(pa.table({"x": pa.array([0.0, 1.0], pa.float32()), "y": pa.array([0, label], pa.int64())}))

    def rows(n):
        return parquet(pa.table({"x": pa.repeat(pa.scalar(1.0, pa.float32()), n), "y": pa.repeat(pa.scalar(0, pa.int64()), n)}))

    def strings(n, length):
        column = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["a" * length]))
        return parquet(pa.table({"text": column, "label": pa.array(["a"] * n)}))

    def columns(n):
        cols = {f"c{i}": pa.array([0.0, 1.0], pa.float32()) for i in range(n)}
        cols["label"] = pa.array([0, 1], pa.int64())
        return parquet(pa.table(cols))

    digits = ctx["digits"]
    bombs = [
        ("huge label i64::MAX", features, labels(2**63 - 1), "--max-dataset-classes"),
        ("label 2^31", features, labels(2**31), "--max-dataset-classes"),
        ("label just over the class limit", features, labels(10_000), "--max-dataset-classes"),
        ("negative label", features, labels(-(2**63)), None),
        ("5M rows run-length encoded", features, rows(5_000_000), "--max-dataset-rows"),
        ("one row over the row limit", features, rows(2_000_001), "--max-dataset-rows"),
        ("nesting 17 deep", {"feature_columns": ["leaf"]}, deep_nesting(16), "--max-dataset-nesting-depth"),
        ("nesting 1000 deep", {"feature_columns": ["leaf"]}, deep_nesting(1000), "--max-dataset-nesting-depth"),
        ("nesting 300000 deep", {"feature_columns": ["leaf"]}, deep_nesting(300_000), "--max-dataset-nesting-depth"),
        ("2000 rows of a 1 MiB dictionary string", text, strings(2000, 1 << 20), "--max-dataset-string-bytes"),
        ("one string over the string limit", text, strings(1, 65_537), "--max-dataset-string-bytes"),
        ("a 1 MiB class name", text, parquet(pa.table({"text": pa.array(["hi", "ho"]), "label": pa.array(["a", "b" * (1 << 20)])})), "--max-dataset-string-bytes"),
        ("2049 columns", {"label_column": "label"}, columns(2049), "--max-dataset-columns"),
        ("footer longer than the file", features, b"PAR1" + b"\0" * 16 + (0xFFFFFF00).to_bytes(4, "little") + b"PAR1", None),
        ("footer of garbage", features, b"PAR1" + secrets.token_bytes(4096) + (4096).to_bytes(4, "little") + b"PAR1", None),
        ("truncated digits", {"label_column": "label"}, digits[: len(digits) // 2], None),
        ("digits without its magic", {"label_column": "label"}, digits[:-4], None),
        ("an empty file", features, b"", None),
        ("JSON, not Parquet", features, b'{"x": [1], "y": [0]}', None),
        ("declared columns missing", {"feature_columns": ["nope"], "label_column": "nada"}, digits, None),
    ]
    for what, schema, data, flag in bombs:
        for file_first in (False, True):
            headers, body = upload_form({"name": "probe-bomb", "schema": schema}, data, file_first)
            r = request("POST", API, "/v1/datasets", bearer(ctx["trainer"]) + headers, body, timeout=120)
            ok = g.refused_http(f"{what} ({len(data)} bytes, file first: {file_first})", r, {400}, flag)
            if ok and "/tmp/" in str((r.json() or {}).get("detail")):
                g.fail(f"{what}: a server path in {r!r}")
    r = request("GET", API, "/v1/datasets", bearer(ctx["viewer"]))
    g.control("listing datasets after the bombs", r, {200})
    names = [d["name"] for d in (r.json() or {}).get("datasets", [])]
    g.check("probe-bomb" not in names, "a bomb was stored")


# --- gRPC --------------------------------------------------------------------------------------

_channel = None


def grpc_call(method, payload, token, streaming=(False, False), timeout=15):
    """(status code, details) of one call with raw bytes, no generated stubs."""
    global _channel
    if _channel is None:
        _channel = grpc.insecure_channel(ML)
    metadata = [("authorization", token)] if token is not None else None
    client_stream, server_stream = streaming
    try:
        if client_stream:
            call = _channel.stream_unary(method, request_serializer=None, response_deserializer=None)
            call(iter([payload]), metadata=metadata, timeout=timeout)
        elif server_stream:
            call = _channel.unary_stream(method, request_serializer=None, response_deserializer=None)
            for _ in call(payload, metadata=metadata, timeout=timeout):
                pass
        else:
            call = _channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            call(payload, metadata=metadata, timeout=timeout)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


def proto_methods():
    """Every RPC in proto/: (path, client streaming, server streaming)."""
    out = []
    base = os.path.join(ROOT, "proto")
    for folder, _, files in os.walk(base):
        for f in sorted(files):
            if not f.endswith(".proto"):
                continue
            text = open(os.path.join(folder, f)).read()
            package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
            for service, body in re.findall(r"service\s+(\w+)\s*\{(.*?)\n\}", text, re.S):
                for m in re.finditer(r"rpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?", body):
                    out.append((f"/{package}.{service}/{m.group(1)}", bool(m.group(2)), bool(m.group(3))))
    return out


def pb_string(field, value):
    data = value.encode()
    return bytes([(field << 3) | 2, len(data)]) + data


def ml_grpc(g, spec, ctx):
    kid, secret = key(ENV["STRATA_PROBE_CALLER_KEY"])
    now = NOW()
    head = {"alg": "HS256", "typ": "strata-caller+jwt", "kid": kid}
    claims = {"sub": "probe-admin", "role": "admin", "iss": "strata-api", "aud": "strata-ml", "iat": now, "exp": now + 60}

    def tok(changes=None, header=None, key_=secret, alg=None):
        c = {k: v for k, v in {**claims, **(changes or {})}.items() if v is not None}
        return "Bearer " + sign({**head, **(header or {})}, c, key_, alg)

    attacker = secrets.token_bytes(32)
    valid = tok()
    forged = [
        ("no credentials", None),
        ("empty authorization", ""),
        ("junk bearer", "Bearer junk"),
        ("Basic", "Basic " + b64(b"admin:admin")),
        ("alg none", "Bearer " + b64(jbody({**head, "alg": "none"})) + "." + b64(jbody(claims)) + "."),
        ("HS512 with the real key", tok(header={"alg": "HS512"})),
        ("HS256 with a wrong key", tok(key_=attacker)),
        ("unknown kid", tok(header={"kid": "nope"})),
        ("empty kid", tok(header={"kid": ""})),
        ("kid path traversal", tok(header={"kid": "../../../../dev/null"}, key_=b"")),
        ("no kid", "Bearer " + sign({"alg": "HS256", "typ": "strata-caller+jwt"}, claims, secret)),
        ("an API access token", "Bearer " + ctx["admin"]),
        ("typ at+jwt", tok(header={"typ": "at+jwt"})),
        ("no typ", "Bearer " + sign({"alg": "HS256", "kid": kid}, claims, secret)),
        ("expired", tok({"iat": now - 600, "exp": now - 300})),
        ("nbf in the future", tok({"nbf": now + 600})),
        ("iat in the future", tok({"iat": now + 600, "exp": now + 660})),
        ("lifetime beyond 60 s", tok({"exp": now + 3600})),
        ("wrong audience", tok({"aud": "strata-api"})),
        ("wrong issuer", tok({"iss": "someone"})),
        ("role claim unknown", tok({"role": "root"})),
        ("no sub", tok({"sub": None})),
    ]
    methods = proto_methods()
    g.check(len(methods) >= 15, f"only {len(methods)} RPCs found in proto/")
    # Garbage and oversize messages without credentials: the gate answers before any decoding.
    for path, cs, ss in methods:
        for what, payload in (("garbage bytes", secrets.token_bytes(64)), ("a 6 MiB message", b"\x0a" + b"\xff" * (6 << 20))):
            codes = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED}
            g.refused_grpc(f"{path} with {what} and no credentials", grpc_call(path, payload, None, (cs, ss)), codes)
    methods += [("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", True, True),
                ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", True, True)]
    for path, cs, ss in methods:
        # Reflection is off unless asked for: refused at the gate, or not there at all.
        codes = {grpc.StatusCode.UNAUTHENTICATED}
        if "reflection" in path:
            codes.add(grpc.StatusCode.UNIMPLEMENTED)
        for what, token in forged:
            g.refused_grpc(f"{path} with {what}", grpc_call(path, b"", token, (cs, ss)), codes)
        # The real key passes the gate: whatever the empty request gets, it is not UNAUTHENTICATED.
        if "reflection" in path or path.endswith("/UploadDataset"):
            continue
        g.tried += 1
        code, details = grpc_call(path, b"", valid, (cs, ss), timeout=5)
        verbose(g, f"control {path} with a valid caller token", f"{code.name} {details[:160]}")
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            g.fail(f"control {path} with a valid caller token: {code} {details}")
        else:
            g.passed_controls += 1
    # A viewer's valid token is not an admin's; ImportModel reads only its import directory.
    viewer = tok({"sub": "probe-viewer", "role": "viewer"})
    for path in ("/strata.ml.v1.ModelService/ImportModel", "/strata.ml.v1.DatasetService/DeleteDataset",
                 "/strata.ml.v1.ModelService/DeleteModelVersion", "/strata.ml.v1.ModelService/SetAlias",
                 "/strata.ml.v1.TrainingService/CreateTrainingJob"):
        g.refused_grpc(f"{path} as a viewer", grpc_call(path, b"", viewer), {grpc.StatusCode.PERMISSION_DENIED})
    for where in ("/", "/etc", "/proc/self", "../../../../etc", "..", "/tmp", ROOT, os.path.join(ROOT, ".cache/assets/all-MiniLM-L6-v2")):
        payload = pb_string(1, "probe-import") + pb_string(2, "text-encoder") + pb_string(3, where)
        outcome = grpc_call("/strata.ml.v1.ModelService/ImportModel", payload, valid)
        g.refused_grpc(f"ImportModel of {where} as an admin", outcome,
                       {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION})


# --- limits ------------------------------------------------------------------------------------


def rate_limit(g, spec, ctx):
    burst = int(ENV.get("STRATA_PROBE_LIMITS_BURST", 20))
    rate = int(ENV.get("STRATA_PROBE_LIMITS_RATE", 10))
    n = 3 * burst
    kid, _ = key(ENV["STRATA_PROBE_JWT_KEY"])

    def flood(source, make):
        limited = 0
        for i in range(n):
            r = request("GET", LIMITS_API, "/v1/auth/me", make(i), source=source)
            if r.status == 429:
                ok = g.refused_http(f"{source} #{i} limited", r, {429})
                if ok and "retry-after" not in r.headers:
                    g.fail(f"{source} #{i}: 429 without Retry-After")
                limited += 1
            else:
                g.refused_http(f"{source} #{i}", r, {401})
        return limited

    cases = [
        ("a new junk token each time", "127.0.0.21", lambda i: bearer(f"junk-{i}-{secrets.token_hex(4)}")),
        ("rotating X-Forwarded-For (no trusted proxy header)", "127.0.0.22",
         lambda i: [("x-forwarded-for", f"198.51.100.{i % 250}"), ("x-real-ip", f"203.0.113.{i % 250}"),
                    ("forwarded", f"for=192.0.2.{i % 250}")]),
        ("forged tokens of new subjects", "127.0.0.23",
         lambda i: bearer(sign({"alg": "HS256", "typ": "at+jwt", "kid": kid},
                               {"sub": f"user-{i}", "role": "admin", "kind": "user", "cred": "0", "iss": "strata",
                                "aud": "strata-api", "iat": NOW(), "exp": NOW() + 60}, secrets.token_bytes(32)))),
        ("junk schemes", "127.0.0.24",
         lambda i: [("authorization", ["Basic eDp5", "Bearer", "Token abc", f"Bearer {'x' * 4000}", "Bearer  ",
                                       f"Bearer a.b.{i}", "Digest x"][i % 7])]),
    ]
    for what, source, make in cases:
        start = time.time()
        limited = flood(source, make)
        # Each case sends 3x the burst from one address, faster than it refills.
        floor = n - burst - int((time.time() - start + 1) * rate)
        g.check(limited >= max(1, floor), f"{what}: only {limited} of {n} limited: a bypass")
        print(f"probes:   rate-limit {what}: {limited} of {n} limited")
    # The throttled address still serves a principal with a valid token: its own bucket.
    r = request("GET", LIMITS_API, "/v1/auth/me", bearer(ctx["limits-admin"]), source="127.0.0.21")
    g.control("a valid token from a throttled address", r, {200})
    for size in (4097, 8192, 16 * 1024, 30 * 1024):
        for source in ("127.0.0.25", "127.0.0.26"):
            r = request("GET", LIMITS_API, "/v1/auth/me", bearer("x" * (size - 7)), source=source)
            g.refused_http(f"an Authorization header of {size} bytes", r, {400})


def sign_in_flood(g, spec, ctx):
    free = int(ENV.get("STRATA_PROBE_SIGN_IN_FREE_FAILURES", 3))
    admin = ctx["limits-admin"]
    victim = create_user(LIMITS_API, admin, "flood-victim", "viewer")
    bystander = create_user(LIMITS_API, admin, "flood-bystander", "viewer")

    def attempt(user, password, source, extra=()):
        return request("POST", LIMITS_API, "/v1/auth/token", JSON + list(extra),
                       jbody({"username": user, "password": password}), source=source)

    def throttled(what, r):
        ok = g.refused_http(what, r, {429})
        if ok and not r.headers.get("retry-after", "").isdigit():
            g.fail(f"{what}: no Retry-After in {r.headers}")
        return int(r.headers.get("retry-after", "1") or 1)

    # Per account: the free failures are answered 401, then the account waits, from anywhere.
    for i in range(free + 1):
        g.refused_http(f"wrong password #{i + 1} for the victim", attempt("flood-victim", "wrong", "127.0.0.31"), {401})
    for i in range(3):
        throttled(f"wrong password beyond the free ones #{i + 1}", attempt("flood-victim", "wrong", "127.0.0.31"))
    wait = throttled("the right password from another address while the account waits",
                     attempt("flood-victim", victim, "127.0.0.32"))
    # Per address: the flooding address waits for other accounts too.
    throttled("another account from the flooding address", attempt("flood-bystander", bystander, "127.0.0.31"))
    # A bystander from elsewhere is not throttled by someone else's flood.
    g.control("the bystander signs in during the flood", attempt("flood-bystander", bystander, "127.0.0.33"), {200})
    # Rotating X-Forwarded-For over fresh account names: the address back-off holds (no trusted header).
    for i in range(free + 1):
        r = attempt(f"nobody-{i}", "wrong", "127.0.0.34", [("x-forwarded-for", f"198.51.100.{i}")])
        g.refused_http(f"unknown user #{i + 1} with a new X-Forwarded-For", r, {401})
    for i in range(4):
        r = attempt(f"nobody-x{i}", "wrong", "127.0.0.34", [("x-forwarded-for", f"203.0.113.{i}")])
        throttled(f"unknown user with a new X-Forwarded-For beyond the free failures #{i + 1}", r)
    # A concurrent burst of wrong passwords from many addresses: each answered, none a 5xx.
    def one(i):
        return attempt(f"burst-{i}", "wrong", f"127.0.0.{40 + i}")
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        for i, r in enumerate(pool.map(one, range(12))):
            g.refused_http(f"burst sign-in #{i}", r, {401})
    # Huge credentials: refused by the body limit or as wrong, without tying up the hashing pool.
    for size in (64 * 1024, 1 << 20, 3 << 20):
        t = time.time()
        r = attempt("flood-bystander", "p" * size, f"127.0.0.{60 + size % 7}")
        g.refused_http(f"a {size}-byte password", r, {400, 401, 413})
        g.check(time.time() - t < 10, f"a {size}-byte password took {time.time() - t:.1f}s")
    # After the wait the right password works and clears the account.
    time.sleep(min(wait, 10) + 0.5)
    g.control("the victim's right password after the wait", attempt("flood-victim", victim, "127.0.0.35"), {200})
    g.refused_http("a wrong password after the clear is answered, not throttled",
                   attempt("flood-victim", "wrong", "127.0.0.35"), {401})


# --- main --------------------------------------------------------------------------------------


def main():
    started = time.time()
    password = ENV["STRATA_PROBE_ADMIN_PASSWORD"]
    ctx = {"admin-root": sign_in(API, "admin", password)}
    with open(ENV.get("STRATA_PROBE_DIGITS", os.path.join(ROOT, "libs/strata-data/samples/digits.parquet")), "rb") as f:
        ctx["digits"] = f.read()
    for name, role in (("probe-viewer", "viewer"), ("probe-trainer-a", "trainer"),
                       ("probe-trainer-b", "trainer"), ("probe-admin", "admin")):
        ctx[name] = sign_in(API, name, create_user(API, ctx["admin-root"], name, role))
    ctx.update(viewer=ctx["probe-viewer"], trainer=ctx["probe-trainer-a"], admin=ctx["probe-admin"])
    ctx["trainer-b"] = ctx["probe-trainer-b"]
    for role in ROLES:  # the same roles held by API keys, exchanged for tokens
        r = request("POST", API, "/v1/auth/api-keys", bearer(ctx["admin-root"]) + JSON,
                    jbody({"name": f"probe-key-{role}", "role": role}))
        assert r.status == 201, r
        r = request("POST", API, "/v1/auth/token", JSON, jbody({"api_key": r.json()["api_key"]}))
        assert r.status == 200, r
        ctx[f"key-{role}"] = r.json()["access_token"]
    ctx["limits-admin"] = sign_in(LIMITS_API, "admin", password)
    # Jobs the fuzzer left queued or running would hold up the probes' own.
    for state in ("running", "queued"):
        for job in request("GET", API, f"/v1/training-jobs?state={state}&page_size=500", bearer(ctx["admin-root"])).json()["jobs"]:
            request("POST", API, f"/v1/training-jobs/{job['id']}:cancel", bearer(ctx["admin-root"]))
    ctx["seeded"] = Seeded(ctx["admin"], ctx["digits"])
    spec = load_spec()

    groups = [
        ("forged-tokens", forged_tokens), ("role-matrix", role_matrix), ("ownership", ownership),
        ("hostile-ids", hostile_ids), ("malformed-http", malformed_http), ("oversize", oversize), ("parquet-bombs", parquet_bombs), ("ml-grpc", ml_grpc),
        ("rate-limit", rate_limit), ("sign-in-flood", sign_in_flood),
    ]
    done = []
    for name, run in groups:
        g = Group(name)
        t = time.time()
        try:
            run(g, spec, ctx)
        except Exception as e:  # a probe that could not even be made is a failure, not a crash
            g.fail(f"stopped: {type(e).__name__}: {e}")
        alive(g)
        print(f"probes: {name}: {g.tried} tried, {g.refused} refused, {g.passed_controls} controls passed, "
              f"{g.fivexx} got a 5xx, {len(g.failures)} failed ({time.time() - t:.1f}s)")
        for why, count in g.known.items():
            print(f"probes:   known deviation ({count} probes): {why}")
        done.append(g)
    tried = sum(g.tried for g in done)
    refused = sum(g.refused for g in done)
    fivexx = sum(g.fivexx for g in done)
    failed = [g for g in done if g.failures]
    print(f"probes: {tried} tried, {refused} refused, {fivexx} got a 5xx, "
          f"{len({k for k in crashed if k.startswith('pid ')})} crashed a process")
    for what, group in crashed.items():
        print(f"probes: {what} gone after {group}")
    print(f"api-probes: {len(done) - len(failed)} passed, {len(failed)} failed in {time.time() - started:.1f}s")
    return 1 if failed or fivexx or crashed else 0


if __name__ == "__main__":
    sys.exit(main())
