#!/usr/bin/env python3
"""Client compatibility matrix: real S3 clients through every transport.

Drives rclone (Go SDK v1), restic (minio-go), pyarrow (AWS SDK for C++),
polars (Rust object_store, `credential_provider=None`), s3fs (aiobotocore),
the AWS SDK for JavaScript v2 (js_v2.js) and boto3 through each way
`localserver` hands out credentials. Each cell puts an object, lists the
bucket and gets the object back, then checks in the relay's record that the
S3 requests were signed with the served AccessKeyId (not the server's own
key, not unsigned). It prints `| client | transport | result |` and exits 1
when a supported cell fails. Run it with the Python that has the clients:

    /tmp/matrix-venv/bin/python tests/clients/matrix.py \\
        --relay http://127.0.0.1:RELAY --signed /tmp/signed.jsonl --bucket mybucket \\
        --s3c target/debug/s3-credentials --fetch target/debug/s3-credentials-fetch \\
        --port P --imds-port I --token-port T --token-file F

--relay URL       the clients' S3 endpoint (the strict relay in front of moto)
--signed FILE     the relay's record (one JSON line per request)
--bucket B        an existing bucket
--s3c, --fetch    the s3-credentials and s3-credentials-fetch binaries
--port P          a `localserver B --imds-port I` (no token)
--imds-port I     that server's IMDSv2 port
--token-port T    a second `localserver B --auth-token-file F`
--token-file F    its token file
--server-akid K   the key the servers sign with (default `testing`); `exec`
                  needs it (and its secret) in this script's environment
--only C[,C]      only these clients (rclone restic pyarrow polars s3fs js_v2 boto3;
                  with --gateway: rclone restic pyarrow polars s3fs js_v3 boto3)
--all             run the n/a cells too and show what happened (an n/a gateway
                  cell may try AWS itself: its proxy is a dead loopback port)
--timeout S       seconds per cell (default 120)
--gateway URL     the gateway mode: `localserver B --port P --gateway 0` printed
                  URL; only --port (no IMDS or token server) and the gateway cells

The gateway mode (`S3 gateway: URL` in the server's startup lines) runs each
client with nothing but the server's local credential (`S3CL...`) and the
gateway's URL, three ways: the credential from `s3-credentials-fetch
--format env` and the URL in the client's own endpoint option; the same
credential and `AWS_ENDPOINT_URL_S3`; a profile in ~/.aws/config with
`credential_process` and a `services` section naming the URL. It refuses to
start with AWS keys in its own environment, checks that each cell's
environment (dumped after the credential is set) holds no key but a local
one, and that every S3 request the relay saw was signed by an STS session
credential (`ASIA...`): the gateway's real key, never the local one.

It starts no backend and no server. Every cell runs with a fresh HOME and
an environment of PATH, HOME, LANG and AWS_REGION only, plus the transport's
variables; outside the IMDS cells the metadata service is disabled
(AWS_EC2_METADATA_DISABLED, and AWS_METADATA_ENDPOINT at a dead loopback
port for object_store) so that no client falls back to 169.254.169.254.
The `FULL_URI narrowed` cell asks for a narrowed credential
(`/ecs?bucket=B&access=read-write`, the token server's): it passes only if
the client kept the query string, since the key it must sign with is the
narrowed credential's, not the scope's.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = ["rclone", "restic", "pyarrow", "polars", "s3fs", "js_v2", "boto3"]
GATEWAY_CLIENTS = ["rclone", "restic", "pyarrow", "polars", "s3fs", "js_v3", "boto3"]
TRANSPORTS = ["process: config", "process: config + LOAD_CONFIG", "process: credentials",
              "FULL_URI 127.0.0.1", "FULL_URI localhost", "FULL_URI [::1]",
              "FULL_URI + token var", "FULL_URI + token file", "FULL_URI narrowed",
              "IMDSv2", "exec", "fetch --format env"]
LOAD_CONFIG = "needs AWS_SDK_LOAD_CONFIG=1 to read ~/.aws/config"
NO_PROCESS = "no credential_process support"
NA = {  # (client, transport) -> why the client cannot do it (observed with --all)
    ("rclone", "FULL_URI + token file"): "reads AWS_CONTAINER_AUTHORIZATION_TOKEN only",
    ("restic", "process: config"): "reads ~/.aws/credentials only",
    ("restic", "process: config + LOAD_CONFIG"): "reads ~/.aws/credentials only",
    ("restic", "FULL_URI + token file"): "reads AWS_CONTAINER_AUTHORIZATION_TOKEN only",
    ("restic", "IMDSv2"): "minio-go's IMDS address is fixed (169.254.169.254)",
    **{("polars", t): "object_store reads FULL_URI only with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
       for t in ("FULL_URI 127.0.0.1", "FULL_URI localhost", "FULL_URI [::1]", "FULL_URI + token var")},
    ("polars", "process: config"): NO_PROCESS,
    ("polars", "process: config + LOAD_CONFIG"): NO_PROCESS,
    ("polars", "process: credentials"): NO_PROCESS,
    ("js_v2", "process: config"): LOAD_CONFIG,
    ("js_v2", "FULL_URI [::1]"): "accepts only localhost, 127.0.0.1 over http",
}
ONLY_LOAD_CONFIG = {"js_v2"}  # the one client that reads ~/.aws/config only with it
GW_OPTION, GW_VAR, GW_PROFILE = ("gateway: endpoint option", "gateway: AWS_ENDPOINT_URL_S3",
                                 "gateway: profile services")
GATEWAY_TRANSPORTS = [GW_OPTION, GW_VAR, GW_PROFILE]
NO_SERVICES = "reads no `services` section: its endpoint option"
GATEWAY_NA = {  # observed with --all
    ("rclone", GW_VAR): "reads no endpoint variable: `endpoint` option",
    ("restic", GW_VAR): "the repository URL names the endpoint",
    ("pyarrow", GW_VAR): "reads neither AWS_ENDPOINT_URL_S3 nor AWS_ENDPOINT_URL: `endpoint_override`",
    ("rclone", GW_PROFILE): NO_SERVICES,
    ("restic", GW_PROFILE): "reads ~/.aws/credentials only, and no `services` section",
    ("pyarrow", GW_PROFILE): NO_SERVICES,
    ("polars", GW_PROFILE): "reads no profile at all (no credential_process)",
}


def op(client, relay, bucket, key, payload):
    """`--op`: one Python client's put, list and get, in a child process;
    an empty `relay` leaves the endpoint to the environment or profile."""
    relay = relay or None
    if client == "boto3" or client == "s3fs":
        if client == "boto3":
            import boto3
            from botocore.config import Config
            s3 = boto3.client("s3", endpoint_url=relay, region_name="us-east-1",
                              config=Config(s3={"addressing_style": "path"}))
            s3.put_object(Bucket=bucket, Key=key, Body=payload.encode())
            print([o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]])
            print(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
        else:
            import s3fs
            fs = s3fs.S3FileSystem(endpoint_url=relay, client_kwargs={"region_name": "us-east-1"},
                                   config_kwargs={"s3": {"addressing_style": "path"}})
            fs.pipe(f"{bucket}/{key}", payload.encode())
            print(fs.ls(bucket, refresh=True))
            print(fs.cat(f"{bucket}/{key}").decode())
    elif client == "pyarrow":
        from pyarrow import fs
        # allow_delayed_open: a small file is one PutObject; moto's CompleteMultipartUpload
        # answer (root CompleteMultipartUploadResponse, not ...Result) fails Arrow's check
        where = {"endpoint_override": relay.split("://")[1], "scheme": "http"} if relay else {}
        s3 = fs.S3FileSystem(region="us-east-1", allow_delayed_open=True, **where)
        with s3.open_output_stream(f"{bucket}/{key}") as f:
            f.write(payload.encode())
        print([i.path for i in s3.get_file_info(fs.FileSelector(bucket))])
        with s3.open_input_stream(f"{bucket}/{key}") as f:
            print(f.read().decode())
    elif client == "polars":
        import polars as pl
        so = {"aws_region": "us-east-1", "aws_allow_http": "true",
              "aws_virtual_hosted_style_request": "false"} | ({"aws_endpoint_url": relay} if relay else {})
        url = f"s3://{bucket}/{key}"
        pl.DataFrame({"payload": [payload]}).write_csv(url, storage_options=so,
                                                      credential_provider=None)
        glob = f"s3://{bucket}/{key.rsplit('-', 1)[0]}-*.csv"  # a glob lists the bucket
        print(pl.scan_csv(glob, storage_options=so, credential_provider=None,
                          include_file_paths="path").collect()["path"].to_list())
        print(pl.read_csv(url, storage_options=so, credential_provider=None)["payload"][0])


def whoami(out):
    """`--whoami FILE`: inside `exec`, note the key its endpoint serves."""
    req = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                                 headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
    with urllib.request.urlopen(req, timeout=5) as r, open(out, "w") as f:
        f.write(json.load(r)["AccessKeyId"])


def served_key(port, token=None, query=""):
    headers = {"Authorization": token} if token else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/{query}", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)["AccessKeyId"]


def steps(client, a, home, key, payload, endpoint):
    """The commands one client runs for one cell, and the variables it needs;
    `endpoint` is the S3 URL it is given ("": none, it finds its own)."""
    me = [sys.executable, os.path.abspath(__file__), "--op", client, endpoint, a.bucket, key, payload]
    data = os.path.join(home, key)
    if client in ("rclone", "restic"):
        with open(data, "w") as f:
            f.write(payload)
    if client == "rclone":
        env = {"RCLONE_CONFIG_M_TYPE": "s3", "RCLONE_CONFIG_M_PROVIDER": "Other",
               "RCLONE_CONFIG_M_ENV_AUTH": "true", "RCLONE_CONFIG_M_ENDPOINT": endpoint,
               "RCLONE_CONFIG_M_REGION": "us-east-1", "RCLONE_CONFIG_M_FORCE_PATH_STYLE": "true"}
        return [["rclone", "copyto", data, f"m:{a.bucket}/{key}"], ["rclone", "lsf", f"m:{a.bucket}"],
                ["rclone", "cat", f"m:{a.bucket}/{key}"]], env
    if client == "restic":
        # minio-go ignores AWS_EC2_METADATA_DISABLED: a dead FULL_URI keeps a failing chain
        # off 169.254.169.254 (the FULL_URI and exec cells replace it)
        env = {"RESTIC_REPOSITORY": f"s3:{endpoint or 's3.amazonaws.com'}/{a.bucket}/{key}",
               "RESTIC_PASSWORD": "matrix",
               "RESTIC_CACHE_DIR": os.path.join(home, "cache"),
               "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/"}
        r = ["restic", "-q", "-o", "s3.region=us-east-1"]
        return [r + ["init"], r + ["backup", data], r + ["ls", "latest"],
                r + ["dump", "latest", data]], env
    if client == "js_v2":
        env = {"AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1"}
        return [["node", os.path.join(HERE, "js_v2.js"), endpoint, a.bucket, key, payload]], env
    if client == "js_v3":
        return [["node", os.path.join(HERE, "js_v3.mjs"), endpoint, a.bucket, key, payload]], {}
    return [me], {}


def run(argv, env, home, a, expect):
    """Runs one cell's command; (why it failed or None, the relay's records of
    this bucket's requests meanwhile). `expect`: words its output must hold."""
    start = os.path.getsize(a.signed)
    try:
        p = subprocess.run(argv, env=env, cwd=home, timeout=a.timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except subprocess.TimeoutExpired:
        return f"FAIL: timed out after {a.timeout}s", []
    out = p.stdout.strip()
    if p.returncode != 0:
        lines = [l.strip() for l in out.splitlines() if l.strip()] or ["no output"]
        why = [l for l in lines if any(w in l.lower() for w in ("error", "fatal", "denied"))]
        return f"FAIL: exit {p.returncode}: {(why or lines)[-1][:200]}", []
    if any(word not in out for word in expect.split()):
        return f"FAIL: listing or body wrong: {out[-200:]!r}", []
    with open(a.signed) as f:
        f.seek(start)
        recs = [json.loads(l) for l in f if l.strip()]
    # Other tests share the relay: only this bucket's requests count.
    return None, [r for r in recs if r["path"].split("/")[1:2] == [a.bucket]]


def cell(client, transport, a, token):
    home = tempfile.mkdtemp(prefix="matrix-home-")
    try:
        slug = "".join(c if c.isalnum() else "-" for c in transport).strip("-")
        key = f"matrix-{client}-{slug}-{uuid.uuid4().hex[:8]}.csv"
        payload = f"payload-{uuid.uuid4().hex}"
        cmds, extra = steps(client, a, home, key, payload, a.relay)
        env = {"PATH": os.environ["PATH"], "HOME": home, "LANG": "C.UTF-8",
               "AWS_REGION": "us-east-1", **extra}
        if transport != "IMDSv2":  # never let a failing chain reach 169.254.169.254
            env |= {"AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_METADATA_ENDPOINT": "http://127.0.0.1:9"}
        expected = {served_key(a.port)}
        fetch = shlex.join([a.fetch, "--port", str(a.port)])
        wrap = []
        script = " && ".join(shlex.join(c) for c in cmds)
        if transport.startswith("process"):
            name = "credentials" if transport.endswith("credentials") else "config"
            os.makedirs(os.path.join(home, ".aws"))
            with open(os.path.join(home, ".aws", name), "w") as f:
                f.write(f"[default]\nregion = us-east-1\ncredential_process = {fetch}\n")
            if transport.endswith("LOAD_CONFIG"):
                env["AWS_SDK_LOAD_CONFIG"] = "1"
        elif transport.startswith("FULL_URI"):
            host, port, path = "127.0.0.1", a.port, "/ecs"
            if transport in ("FULL_URI localhost", "FULL_URI [::1]"):
                host = transport.split()[1]
            if "token" in transport:
                port, expected = a.token_port, {served_key(a.token_port, token)}
                if transport.endswith("var"):
                    env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
                else:
                    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = a.token_file
            if transport.endswith("narrowed"):
                query = f"?bucket={a.bucket}&access=read-write"
                port, path = a.token_port, f"/ecs{query}"
                expected = {served_key(a.token_port, token, query)}
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = a.token_file  # object_store needs one
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"http://{host}:{port}{path}"
        elif transport == "IMDSv2":
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = f"http://127.0.0.1:{a.imds_port}"
            env["AWS_METADATA_ENDPOINT"] = f"http://127.0.0.1:{a.imds_port}"
        elif transport == "exec":
            who = os.path.join(home, "whoami")
            script = shlex.join([sys.executable, os.path.abspath(__file__), "--whoami", who]) + " && " + script
            wrap = [a.s3c, "exec", a.bucket, "-d", "15m", "--endpoint-url", a.relay, "--"]
            env |= {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        elif transport == "fetch --format env":
            script = f'eval "$({fetch} --format env)" && {script}'
        failed, recs = run(wrap + ["bash", "-c", script], env, home, a, key + " " + payload)
        if failed:
            return failed
        if transport == "exec":
            expected = {open(who).read()}
        elif transport.endswith("narrowed"):
            pass  # one narrowed credential: its entry holds it
        else:
            expected.add(served_key(a.token_port, token) if "token" in transport else served_key(a.port))
        recs = [r for r in recs if r["service"] not in ("sts", "iam")
                and not (transport == "exec" and r["akid"] == a.server_akid and r["method"] == "HEAD")]
        bad = sorted({str(r["akid"]) for r in recs} - expected)
        if bad:
            return f"FAIL: S3 requests signed by {', '.join(bad)}, served {', '.join(sorted(expected))}"
        if not {"PUT", "GET"} <= {r["method"] for r in recs}:
            return f"FAIL: no signed PUT and GET recorded ({len(recs)} requests)"
        return "ok"
    finally:
        shutil.rmtree(home, ignore_errors=True)


def gateway_cell(client, transport, a):
    """One client through the gateway (`a.gateway`) with nothing but the
    server's local credential: see the docstring's gateway mode."""
    home = tempfile.mkdtemp(prefix="matrix-gw-home-")
    seen = os.path.join(tempfile.mkdtemp(prefix="matrix-gw-env-"), "env")  # outside HOME
    try:
        slug = "".join(c if c.isalnum() else "-" for c in transport).strip("-")
        key = f"matrix-{client}-{slug}-{uuid.uuid4().hex[:8]}.csv"
        payload = f"payload-{uuid.uuid4().hex}"
        cmds, extra = steps(client, a, home, key, payload, a.gateway if transport == GW_OPTION else "")
        env = {"PATH": os.environ["PATH"], "HOME": home, "LANG": "C.UTF-8", "AWS_REGION": "us-east-1",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_METADATA_ENDPOINT": "http://127.0.0.1:9", **extra}
        if client == "rclone":  # else it first calls CreateBucket, which no scope allows
            env["RCLONE_CONFIG_M_NO_CHECK_BUCKET"] = "true"
        if (client, transport) in GATEWAY_NA:  # it may head for AWS itself: a dead proxy stops it
            env |= {v: "http://127.0.0.1:9" for v in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
        fetch = shlex.join([a.fetch, "--port", str(a.port)])
        if transport == GW_PROFILE:
            os.makedirs(os.path.join(home, ".aws"))
            with open(os.path.join(home, ".aws", "config"), "w") as f:
                f.write(f"[default]\nregion = us-east-1\ncredential_process = {fetch}\nservices = gw\n\n"
                        f"[services gw]\ns3 =\n  endpoint_url = {a.gateway}\n")
            credential = ""
        else:
            credential = f'eval "$({fetch} --format env)" && '
            if transport == GW_VAR:
                env["AWS_ENDPOINT_URL_S3"] = a.gateway
        script = credential + f"env > {shlex.quote(seen)} && " + " && ".join(shlex.join(c) for c in cmds)
        failed, recs = run(["bash", "-c", script], env, home, a, key + " " + payload)
        if failed:
            return failed
        signers = {r["akid"] for r in recs if r["service"] not in ("sts", "iam")}
        with open(seen) as f:
            held = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
        local = held.get("AWS_ACCESS_KEY_ID", "S3CL" if transport == GW_PROFILE else "none")
        if not local.startswith("S3CL") or set(held.values()) & (signers | {a.server_akid}):
            return f"FAIL: the client's environment held {local}, not only a local credential"
        bad = sorted(str(k) for k in signers if not str(k).startswith("ASIA"))
        if bad:
            return f"FAIL: S3 requests reached the relay signed by {', '.join(bad)}, not an STS credential"
        if not {"PUT", "GET"} <= {r["method"] for r in recs}:
            return f"FAIL: no signed PUT and GET recorded ({len(recs)} requests)"
        return "ok"
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(os.path.dirname(seen), ignore_errors=True)


def main():
    if sys.argv[1:2] == ["--op"]:
        return op(*sys.argv[2:7])
    if sys.argv[1:2] == ["--whoami"]:
        return whoami(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for o in ("--signed", "--bucket", "--s3c", "--fetch"):
        ap.add_argument(o, required=True)
    ap.add_argument("--port", type=int, required=True)
    for o in ("--relay", "--token-file", "--gateway"):
        ap.add_argument(o)
    for o in ("--imds-port", "--token-port"):
        ap.add_argument(o, type=int)
    ap.add_argument("--server-akid", default="testing")
    ap.add_argument("--only")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()
    a.s3c, a.fetch = os.path.abspath(a.s3c), os.path.abspath(a.fetch)
    if a.gateway:
        held = [k for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if k in os.environ]
        if held:
            sys.exit(f"--gateway: this script's environment holds {', '.join(held)}; run it without AWS keys")
        a.gateway = a.gateway.rstrip("/")
        return table(a, GATEWAY_CLIENTS, GATEWAY_TRANSPORTS, GATEWAY_NA.get, gateway_cell)
    missing = [o for o in ("relay", "token_file", "imds_port", "token_port") if getattr(a, o) is None]
    if missing:
        ap.error("without --gateway, these are required: " + ", ".join("--" + o.replace("_", "-") for o in missing))
    a.relay = a.relay.rstrip("/")
    with open(a.token_file) as f:
        token = f.read().strip()

    def why(client, t):
        if t.endswith("LOAD_CONFIG") and client not in ONLY_LOAD_CONFIG:
            return NA.get((client, t)) or "reads ~/.aws/config without it: same as `process: config`"
        return NA.get((client, t))
    return table(a, CLIENTS, TRANSPORTS, lambda ct: why(*ct), lambda c, t, a: cell(c, t, a, token))


def table(a, clients, transports, na, run_cell):
    """Runs and prints every cell; exits 1 if a supported one failed."""
    failed = False
    print("| client | transport | result |\n| --- | --- | --- |", flush=True)
    for client in (a.only.split(",") if a.only else clients):
        if client not in clients:
            sys.exit(f"unknown client {client!r}; known: {', '.join(clients)}")
        for t in transports:
            why = na((client, t))
            if why and not a.all:
                result = f"n/a: {why}"
            else:
                result = run_cell(client, t, a)
                failed |= result.startswith("FAIL") and not why
                result = f"n/a: {why} (ran: {result})" if why else result
            print(f"| {client} | {t} | {result.replace('|', '/')} |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
