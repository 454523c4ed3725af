"""A strict AWS double: a relay in front of moto that refuses what AWS
refuses and moto forgives, and records who signed each request.

    python3 relay.py UPSTREAM_URL RECORD_FILE [--new-role-grace SECONDS] [--root-key AKID]...

It listens on 127.0.0.1 (a free port), prints "relay ready on PORT" on
stderr, and forwards every request to UPSTREAM_URL (moto). Before it
forwards, it checks what the STS and IAM API references document:

- AssumeRole `Policy`: at most 2,048 characters, each in
  [\\u0009\\u000A\\u000D\\u0020-\\u00FF] (ValidationError, 400);
- AssumeRole `RoleSessionName`: [\\w+=,.@-]{2,64} (ValidationError);
- AssumeRole `SourceIdentity`: [\\w+=,.@-]{2,64}, not starting with aws:
  (ValidationError); session tags (`Tags.member.N.Key`/`Value`): at most
  50, a key 1 to 128 and a value 0 to 256 characters of
  [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@] (ValidationError);
- AssumeRole with `SourceIdentity` (or tags) of a role whose trust policy
  (moto's GetRole) does not allow sts:SetSourceIdentity (sts:TagSession):
  AccessDenied (403), in AWS's words; `Action` a string or a list, IAM's
  wildcards (`sts:*`), a Deny winning, principals and conditions unjudged;
- AssumeRole `DurationSeconds`: 900 up to the role's MaxSessionDuration
  (ValidationError, with AWS's words, which the server's hint reads);
- AssumeRole of a role created less than --new-role-grace seconds ago:
  AccessDenied (403), as IAM's eventual consistency does on AWS;
- a root user's keys (--root-key): GetCallerIdentity answers the root ARN,
  and AssumeRole is AccessDenied ("Roles may not be assumed by root
  accounts");
- CreateRole: RoleName [\\w+=,.@-]{1,64}, MaxSessionDuration 3600..43200.

and it answers as S3 does where moto does not: a request whose body ends
before its Content-Length (the client went away mid-upload) is
IncompleteBody (400) and never forwarded (moto stores the part that came);
CompleteMultipartUpload's
root element is CompleteMultipartUploadResult (S3 API reference), not
moto's CompleteMultipartUploadResponse, which strict SDKs refuse.

Each request is recorded as one JSON line in RECORD_FILE: method, path,
the signing key id from `Authorization` (or null: unsigned), the service
of its credential scope, the STS/IAM action, and its Content-Encoding and
X-Amz-Content-SHA256 headers (how its body is framed), the error code it
was refused with (`refused`, null when forwarded); an AssumeRole's also
with its `session_name`, `source_identity` (or null), `tags` (an
object, in the request's order) and the AccessKeyId STS `issued` (null
when refused), which joins each later call to its session as CloudTrail
does. A forwarded request is recorded once moto has answered it.
"""

import argparse
import html
import http.client
import json
import re
import sys
import threading
import time
import unicodedata
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
POLICY_CHARS = re.compile(r"^[\u0009\u000A\u000D\u0020-\u00FF]+$")
# Java's \w, as STS reads it, is ASCII's.
SOURCE_IDENTITY = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
TAG_MEMBER = re.compile(r"^Tags\.member\.(\d+)\.(?:Key|Value)$")
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")

args = None
lock = threading.Lock()
created = {}  # role name -> (time created, MaxSessionDuration)


def error_xml(code, message, service="sts"):
    if service == "iam":
        ns = "https://iam.amazonaws.com/doc/2010-05-08/"
    else:
        ns = "https://sts.amazonaws.com/doc/2011-06-15/"
    return (
        f'<ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>strict-relay</RequestId></ErrorResponse>"
    ).encode()


def role_name_of(arn):
    return arn.rsplit("/", 1)[-1] if arn else ""


def denied(action, role_arn):
    """AWS's AccessDenied for an action the caller may not perform on the role."""
    return (403, "AccessDenied", f"User: arn:aws:iam::123456789012:user/test is not "
            f"authorized to perform: {action} on resource: {role_arn}", "sts")


def tags_of(form):
    """AssumeRole's session tags, (key, value) in their member order."""
    numbers = sorted({int(m.group(1)) for k in form for m in [TAG_MEMBER.match(k)] if m})
    return [(form.get(f"Tags.member.{n}.Key", ""), form.get(f"Tags.member.{n}.Value", "")) for n in numbers]


def attributed(form):
    return "SourceIdentity" in form or bool(tags_of(form))


def tag_text(text, least, most):
    """Whether STS takes text as a tag key or value: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@],
    least to most characters, counted as Java counts them (UTF-16 units)."""
    units = len(text.encode("utf-16-le")) // 2
    return least <= units <= most and all(
        c in "_.:/=+-@" or unicodedata.category(c)[0] in "LZN" for c in text)


def attribution_invalid(form):
    """STS's ValidationError for a SourceIdentity or session tag it refuses, or None."""
    identity = form.get("SourceIdentity")
    if identity is not None and (not SOURCE_IDENTITY.match(identity) or identity.lower().startswith("aws:")):
        return ("1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    tags = tags_of(form)
    if len(tags) > 50:
        return "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
    for n, (key, value) in enumerate(tags, 1):
        for what, text, least, most in (("key", key, 1, 128), ("value", value, 0, 256)):
            if not tag_text(text, least, most):
                return (f"1 validation error detected: Value at 'tags.{n}.member.{what}' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
    return None


def action_matches(pattern, action):
    """IAM's action match: case-insensitive, * any run, ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, action.lower()) is not None


def trust_allows(document, action):
    """Whether the trust policy allows the action: an Allow names it (Action,
    or NotAction leaving it out), and no Deny does."""
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]

    def names(statement):
        for field, named in (("Action", True), ("NotAction", False)):
            if field in statement:
                listed = statement[field] if isinstance(statement[field], list) else [statement[field]]
                return any(action_matches(p, action) for p in listed) == named
        return False
    judged = lambda effect: any(s.get("Effect") == effect and names(s) for s in statements)
    return judged("Allow") and not judged("Deny")


def trust_lacks(form, role_xml):
    """The attribution actions this AssumeRole needs that the role's trust
    policy (from moto's GetRole answer) does not allow; none when unread."""
    found = re.search(rb"<AssumeRolePolicyDocument>(.*?)</AssumeRolePolicyDocument>", role_xml or b"", re.S)
    if not found:
        return []
    try:
        document = json.loads(urllib.parse.unquote(html.unescape(found.group(1).decode())))
    except ValueError:
        return []
    needed = (["sts:SetSourceIdentity"] if "SourceIdentity" in form else []) + \
        (["sts:TagSession"] if tags_of(form) else [])
    return [a for a in needed if not trust_allows(document if isinstance(document, dict) else {}, a)]


class Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def body(self):
        """The request's body, or None if it ended before its length (the
        client went away mid-upload)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                if not line:
                    return None
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    return None
                data += chunk
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        return data if len(data) == length else None

    def handle_any(self):
        body = self.body()
        if body is None:
            # S3 stores nothing of a body cut short; moto stores what came.
            self.close_connection = True
            message = "You did not provide the number of bytes specified by the Content-Length HTTP header."
            return self.answer(400, {"Content-Type": "application/xml"},
                               f"<Error><Code>IncompleteBody</Code><Message>{message}</Message></Error>".encode())
        auth = self.headers.get("Authorization", "")
        signed = CREDENTIAL.search(auth)
        akid, service = (signed.group(1), signed.group(2)) if signed else (None, None)
        if not signed and "X-Amz-Credential" in self.path:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            parts = query.get("X-Amz-Credential", [""])[0].split("/")
            akid, service = parts[0], parts[3] if len(parts) > 3 else None
        form = {}
        if body and b"Action=" in body[:4096]:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        action = form.get("Action")
        refusal = self.refuse(action, form, akid)
        record = {"method": self.command, "path": self.path.split("?")[0],
                  "akid": akid, "service": service, "action": action,
                  "encoding": self.headers.get("Content-Encoding"),
                  "payload": self.headers.get("X-Amz-Content-SHA256"),
                  "refused": refusal[1] if refusal else None}
        if action == "AssumeRole":
            record.update(session_name=form.get("RoleSessionName"),
                          source_identity=form.get("SourceIdentity"), tags=dict(tags_of(form)))
        if refusal:
            self.write(record)
            status, code, message, svc = refusal
            return self.answer(status, {"Content-Type": "text/xml"}, error_xml(code, message, svc))
        if action == "GetCallerIdentity" and akid in args.root_key:
            xml = (
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn>"
                "<UserId>123456789012</UserId><Account>123456789012</Account>"
                "</GetCallerIdentityResult><ResponseMetadata><RequestId>root</RequestId>"
                "</ResponseMetadata></GetCallerIdentityResponse>"
            ).encode()
            self.write(record)
            return self.answer(200, {"Content-Type": "text/xml"}, xml)
        status, headers, data = self.forward(body)
        if action == "AssumeRole":
            # CloudTrail joins a call to its session by the key STS issued.
            issued = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", data) if status == 200 else None
            record.update(issued=issued.group(1).decode() if issued else None)
        self.write(record)
        if status == 200 and b"<CompleteMultipartUploadResponse" in data[:200]:
            data = data.replace(b"CompleteMultipartUploadResponse", b"CompleteMultipartUploadResult")
        if action == "CreateRole" and status == 200:
            with lock:
                created[form.get("RoleName", "")] = (time.time(), int(form.get("MaxSessionDuration") or 3600))
        return self.answer(status, headers, data)

    def write(self, record):
        with lock:
            with open(args.record, "a") as out:
                out.write(json.dumps(record) + "\n")

    def refuse(self, action, form, akid):
        if action == "AssumeRole":
            if akid in args.root_key:
                return (403, "AccessDenied", "Roles may not be assumed by root accounts.", "sts")
            policy = form.get("Policy")
            if policy is not None and len(policy) > 2048:
                return (400, "ValidationError", "1 validation error detected: Value at 'policy' "
                        "failed to satisfy constraint: Member must have length less than or equal to 2048", "sts")
            if policy is not None and not POLICY_CHARS.match(policy):
                return (400, "ValidationError", "1 validation error detected: Value at 'policy' "
                        "failed to satisfy constraint: Member must satisfy regular expression pattern: "
                        "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", "sts")
            name = form.get("RoleSessionName", "")
            if not SESSION_NAME.match(name):
                return (400, "ValidationError", "1 validation error detected: Value at 'roleSessionName' "
                        "failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", "sts")
            invalid = attribution_invalid(form)
            if invalid:
                return (400, "ValidationError", invalid, "sts")
            role = role_name_of(form.get("RoleArn", ""))
            made, max_secs = created.get(role, (0, None))
            found = self.get_role(role) if max_secs is None or attributed(form) else None
            if max_secs is None:
                found_max = re.search(rb"<MaxSessionDuration>(\d+)</MaxSessionDuration>", found or b"")
                max_secs = int(found_max.group(1)) if found_max else None
            secs = int(form.get("DurationSeconds") or 3600)
            if secs < 900 or (max_secs and secs > max_secs):
                return (400, "ValidationError", "The requested DurationSeconds exceeds the "
                        "MaxSessionDuration set for this role.", "sts")
            if time.time() - made < args.new_role_grace:
                return denied("sts:AssumeRole", form.get("RoleArn"))
            lacks = trust_lacks(form, found)
            if lacks:
                return denied(lacks[0], form.get("RoleArn"))
        if action == "CreateRole":
            if not ROLE_NAME.match(form.get("RoleName", "")):
                return (400, "ValidationError", "The specified value for roleName is invalid.", "iam")
            secs = int(form.get("MaxSessionDuration") or 3600)
            if not 3600 <= secs <= 43200:
                return (400, "ValidationError", "The specified value for maxSessionDuration is invalid.", "iam")
        return None

    def get_role(self, role):
        """moto's GetRole answer for the role (it takes unsigned calls), or None."""
        body = urllib.parse.urlencode({"Action": "GetRole", "RoleName": role, "Version": "2010-05-08"})
        status, _, data = self.forward(body.encode(), method="POST", path="/",
                                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                                "Authorization": "AWS4-HMAC-SHA256 Credential=relay/x/us-east-1/iam/aws4_request"})
        return data if status == 200 else None

    def forward(self, body, method=None, path=None, headers=None):
        up = urllib.parse.urlsplit(args.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        send = dict(headers) if headers is not None else {
            k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "expect", "connection")
        }
        send["Content-Length"] = str(len(body))
        conn.request(method or self.command, path or self.path, body=body, headers=send)
        resp = conn.getresponse()
        data = resp.read()
        out = {k: v for k, v in resp.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")}
        if (method or self.command) == "HEAD":
            out["Content-Length"] = resp.getheader("Content-Length", "0")
        conn.close()
        return resp.status, out, data

    def answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream")
    parser.add_argument("record")
    parser.add_argument("--new-role-grace", type=float, default=0.0)
    parser.add_argument("--root-key", action="append", default=[])
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    print(f"relay ready on {server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
