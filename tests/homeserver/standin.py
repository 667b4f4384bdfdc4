#!/usr/bin/python3
"""A stand-in Synapse for the masd tests: the homeserver side of `/_synapse/mas/*`.

Synapse cannot be installed where the tests run, so this is the one allowed stand-in. It answers
the twelve MAS -> homeserver endpoints exactly as Synapse 1.157 does, as its
synapse/rest/synapse/mas/ implements them (mounting, authentication, body parsing, every endpoint):

  GET  /_synapse/mas/query_user?localpart=      GET  /_synapse/mas/is_localpart_available?localpart=
  POST /_synapse/mas/provision_user             POST /_synapse/mas/delete_user
  POST /_synapse/mas/reactivate_user            POST /_synapse/mas/set_displayname
  POST /_synapse/mas/unset_displayname          POST /_synapse/mas/allow_cross_signing_reset
  POST /_synapse/mas/upsert_device              POST /_synapse/mas/delete_device
  POST /_synapse/mas/update_device_display_name POST /_synapse/mas/sync_devices

Behaviour kept from Synapse: `Authorization: Bearer <secret>` (or ?access_token=) checked before
anything else (401 M_MISSING_TOKEN for a malformed/duplicated/mixed/missing token, 403 M_UNKNOWN
for a wrong one; an empty secret never matches); HEAD served as GET; 405 M_UNRECOGNIZED for a
method the endpoint lacks; 404 M_UNRECOGNIZED for an unknown path; OPTIONS 204 anywhere (CORS);
JSON bodies parsed like Synapse (M_NOT_JSON, M_BAD_JSON) and validated like its pydantic models
(strict str/bool, unknown keys ignored, one missing field M_MISSING_PARAM, one validator error
M_INVALID_PARAM, anything else M_BAD_JSON); query parameters decoded as ASCII; 404 M_NOT_FOUND
"User not found" for unknown users; check_username rules; profile length limits (display name
256, avatar URL 1000, device name 100 -> M_TOO_LARGE); 201/200 from provision_user and
upsert_device, 204 from delete_device.

Not modelled: appservice namespaces (M_EXCLUSIVE), suspension (is_suspended is the stored
`suspended` flag, false unless seeded), cross-signing keys (allow_cross_signing_reset is the
logged no-op Synapse performs for a user without keys), dehydrated devices, rate limits.

State: {"users": {localpart: {"display_name": str|null, "avatar_url": str|null,
"emails": [str], "locked": bool, "deactivated": bool, "erased": bool, "suspended": bool,
"devices": {device_id: display_name|null}}}}. With --state it is loaded at start (missing fields
take their defaults, so a test may seed a terse file) and rewritten atomically after each change,
so a test can stop the stand-in (homeserver down) and start it again on the same state.

Options:
  --listen HOST:PORT    address to listen on (default 127.0.0.1:8008; port 0 = any free port)
  --port PORT           shorthand for --listen 127.0.0.1:PORT
  --server-name NAME    the homeserver's server_name, used in @localpart:NAME (default example.com)
  --secret S            the shared secret (matrix.secret in MAS)
  --secret-file F       ... read from a file, stripped (exactly one of the two is required)
  --state FILE          JSON state file, loaded at start, written atomically after each change
  --record FILE         append one JSON line per homeserver request (not for /_standin/):
                          {"method","path","query","auth_ok","body","status","t"}
                        query = the raw query string as sent (no "?", not decoded; "" if none),
                        body = the parsed JSON, else the raw text, else null (no/empty body),
                        status = what was answered (0: connection closed by /_standin/fail),
                        t = epoch milliseconds at receipt. Written and flushed before the
                        response is sent.
  --latency-ms N        sleep N ms before handling each /_synapse/mas/ request (default 0)
  --fail-next N         the first N /_synapse/mas/ requests fail (see /_standin/fail)
  --fail-status S       ... with this status (default 500)
  --pidfile FILE        write the PID here once listening (removed on a clean exit)

Test-only control API, no auth, never recorded:
  GET  /_standin/state                the whole state, as in the state file
  POST /_standin/state  {"users":{…}}  replace the state (fields default as when loading)
  GET  /_standin/latency              {"ms": N}
  POST /_standin/latency {"ms": N}    set the latency
  GET  /_standin/fail                 {"status": S, "count": N} (remaining)
  POST /_standin/fail {"status": 500, "count": N, "errcode"?: "M_UNKNOWN", "error"?: "..."}
                                      the next N /_synapse/mas/ requests answer that status
                                      with {"errcode","error"} and change nothing; status 0
                                      closes the connection without an answer
  POST /_standin/reset                empty state, no pending failures, latency back to
                                      --latency-ms

Prints "listening on HOST:PORT" on stdout when ready; exits 0 on SIGTERM or SIGINT.
Python 3 standard library only; HTTP/1.1 with keep-alive, Content-Length on every response
that may carry a body (204 carries none, as RFC 9110 requires).
"""

import argparse
import copy
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SYNAPSE_VERSION = "1.157.1"
MAX_USERID_LENGTH = 255
MAX_DISPLAYNAME_LEN = 256
MAX_AVATAR_URL_LEN = 1000
MAX_DEVICE_DISPLAY_NAME_LEN = 100
MAX_BODY = 50 * 1024 * 1024
MXID_LOCALPART_ALLOWED = set("_-./=+abcdefghijklmnopqrstuvwxyz0123456789")
GUEST_USER_ID_PATTERN = re.compile(r"^\d+$")

MAS_PREFIX = "/_synapse/mas/"
CONTROL_PREFIX = "/_standin/"
GET_ENDPOINTS = {"query_user", "is_localpart_available"}
POST_ENDPOINTS = {
    "provision_user", "delete_user", "reactivate_user", "set_displayname", "unset_displayname",
    "allow_cross_signing_reset", "upsert_device", "delete_device", "update_device_display_name",
    "sync_devices",
}


class SynapseError(Exception):
    """An error answered as {"errcode", "error"}; default errcode M_UNKNOWN as in Synapse."""

    def __init__(self, code, msg, errcode="M_UNKNOWN"):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.errcode = errcode


def not_found_user():
    return SynapseError(404, "User not found", "M_NOT_FOUND")


# ------------------------------------------------------------------------------------------------
# Request models, validated like Synapse's pydantic (v2) models: the model is lax but every field
# type is strict (StrictStr, StrictBool); list/set containers accept JSON arrays only; unknown keys
# are ignored. Field kinds: str, bool, opt_str, opt_bool, opt_list_str, set_str.

_MISSING = object()


def _provision_exclusive(values):
    for what in ("displayname", "avatar_url", "emails"):
        if "unset_" + what in values and "set_" + what in values:
            raise ValueError("Cannot specify both unset_%s and set_%s" % (what, what))


MODELS = {
    "provision_user": (
        [("localpart", "str", _MISSING),
         ("unset_displayname", "bool", False), ("set_displayname", "opt_str", None),
         ("unset_avatar_url", "bool", False), ("set_avatar_url", "opt_str", None),
         ("unset_emails", "bool", False), ("set_emails", "opt_list_str", None),
         ("locked", "opt_bool", None)],
        _provision_exclusive),
    "delete_user": ([("localpart", "str", _MISSING), ("erase", "bool", _MISSING)], None),
    "reactivate_user": ([("localpart", "str", _MISSING)], None),
    "set_displayname": ([("localpart", "str", _MISSING), ("displayname", "str", _MISSING)], None),
    "unset_displayname": ([("localpart", "str", _MISSING)], None),
    "allow_cross_signing_reset": ([("localpart", "str", _MISSING)], None),
    "upsert_device": (
        [("localpart", "str", _MISSING), ("device_id", "str", _MISSING),
         ("display_name", "opt_str", None)], None),
    "delete_device": ([("localpart", "str", _MISSING), ("device_id", "str", _MISSING)], None),
    "update_device_display_name": (
        [("localpart", "str", _MISSING), ("device_id", "str", _MISSING),
         ("display_name", "str", _MISSING)], None),
    "sync_devices": ([("localpart", "str", _MISSING), ("devices", "set_str", _MISSING)], None),
}

_TYPE_ERRORS = {
    "str": ("string_type", "Input should be a valid string"),
    "bool": ("bool_type", "Input should be a valid boolean"),
    "list": ("list_type", "Input should be a valid list"),
    "set": ("set_type", "Input should be a valid set"),
}


def _pyrepr(value):
    r = repr(value)
    return r if len(r) <= 50 else r[:24] + "..." + r[-23:]


def _pytype(value):
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float",
            type(None): "NoneType"}.get(type(value), type(value).__name__)


def validate(name, content):
    """Returns the validated fields as a dict, or raises the SynapseError Synapse would."""
    fields, before = MODELS[name]
    errors = []  # (loc, type, msg, input)
    out = {}
    try:
        if before is not None:
            before(content)
    except ValueError as e:
        errors.append(("", "value_error", "Value error, %s" % e, content))
    else:
        for key, kind, default in fields:
            if key not in content:
                if default is _MISSING:
                    errors.append((key, "missing", "Field required", content))
                else:
                    out[key] = default
                continue
            v = content[key]
            if kind.startswith("opt_"):
                if v is None:
                    out[key] = None
                    continue
                kind = kind[4:]
            if kind == "str":
                if isinstance(v, str):
                    out[key] = v
                else:
                    errors.append((key,) + _TYPE_ERRORS["str"] + (v,))
            elif kind == "bool":
                if isinstance(v, bool):
                    out[key] = v
                else:
                    errors.append((key,) + _TYPE_ERRORS["bool"] + (v,))
            elif kind in ("list_str", "set_str"):
                container = "list" if kind == "list_str" else "set"
                if not isinstance(v, list):
                    errors.append((key,) + _TYPE_ERRORS[container] + (v,))
                    continue
                bad = False
                for i, item in enumerate(v):
                    if not isinstance(item, str):
                        errors.append(("%s.%d" % (key, i),) + _TYPE_ERRORS["str"] + (item,))
                        bad = True
                if not bad:
                    out[key] = list(v) if container == "list" else set(v)
            else:
                raise AssertionError(kind)
    if not errors:
        return out
    errcode = "M_BAD_JSON"
    if len(errors) == 1:
        if errors[0][1] == "missing":
            errcode = "M_MISSING_PARAM"
        elif errors[0][1] == "value_error":
            errcode = "M_INVALID_PARAM"
    lines = ["%d validation error%s for PostBody" % (len(errors), "" if len(errors) == 1 else "s")]
    for loc, typ, msg, value in errors:
        if loc:
            lines.append(loc)
        lines.append("  %s [type=%s, input_value=%s, input_type=%s]"
                     % (msg, typ, _pyrepr(value), _pytype(value)))
    raise SynapseError(400, "\n".join(lines), errcode)


# ------------------------------------------------------------------------------------------------
# State

def new_user(display_name=None):
    return {"display_name": display_name, "avatar_url": None, "emails": [], "locked": False,
            "deactivated": False, "erased": False, "suspended": False, "devices": {}}


def normalise_state(data):
    """A state document with every field present; raises ValueError on a wrong shape."""
    if not isinstance(data, dict) or not isinstance(data.get("users", {}), dict):
        raise ValueError('the state must be an object {"users": {localpart: {...}}}')
    users = {}
    for lp, u in data.get("users", {}).items():
        if not isinstance(u, dict):
            raise ValueError("user %r is not an object" % lp)
        n = new_user()
        for k, v in u.items():
            n[k] = copy.deepcopy(v)
        if isinstance(n["devices"], list):
            n["devices"] = {d: None for d in n["devices"]}
        if not isinstance(n["devices"], dict) or not isinstance(n["emails"], list):
            raise ValueError("user %r: devices must be an object, emails a list" % lp)
        users[lp] = n
    return {"users": users}


class Homeserver:
    """The stand-in's state and behaviour, shared by the request threads."""

    def __init__(self, opts):
        self.server_name = opts.server_name
        self.secret = opts.secret_value
        self.state_file = opts.state
        self.default_latency_ms = opts.latency_ms
        self.latency_ms = opts.latency_ms
        self.fail = {"status": opts.fail_status, "count": opts.fail_next,
                     "errcode": "M_UNKNOWN", "error": "Injected failure"}
        self.lock = threading.RLock()
        self.record_lock = threading.Lock()
        self.record = open(opts.record, "a", encoding="utf-8") if opts.record else None
        self.state = {"users": {}}
        self._written = None
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file, encoding="utf-8") as f:
                text = f.read()
            if text.strip():
                self.state = normalise_state(json.loads(text))
            self._written = json.dumps(self.state, sort_keys=True)

    # -- persistence --------------------------------------------------------------------------

    def save(self):
        """Writes the state file atomically if the state changed. Call with the lock held."""
        if not self.state_file:
            return
        text = json.dumps(self.state, sort_keys=True)
        if text == self._written:
            return
        tmp = "%s.tmp.%d" % (self.state_file, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.state, indent=1, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_file)
        self._written = text

    def write_record(self, rec):
        if self.record is None:
            return
        line = json.dumps(rec, separators=(",", ":"))
        with self.record_lock:
            self.record.write(line + "\n")
            self.record.flush()

    # -- auth (synapse/api/auth/base.py get_access_token_from_request + mas.py) --------------

    def check_auth(self, auth_headers, args):
        """Returns None when the request carries the shared secret, else the SynapseError."""
        query = args.get(b"access_token")
        if auth_headers:
            if query is not None:
                return SynapseError(
                    401, "Mixing Authorization headers and access_token query parameters.",
                    "M_MISSING_TOKEN")
            if len(auth_headers) > 1:
                return SynapseError(401, "Too many Authorization headers.", "M_MISSING_TOKEN")
            parts = auth_headers[0].split(b" ")
            if parts[0] == b"Bearer" and len(parts) == 2:
                raw = parts[1]
            else:
                return SynapseError(401, "Invalid Authorization header.", "M_MISSING_TOKEN")
        else:
            if not query:
                return SynapseError(401, "Missing access token.", "M_MISSING_TOKEN")
            raw = query[0]
        try:
            token = raw.decode("ascii")
        except UnicodeDecodeError:
            # Synapse lets the UnicodeDecodeError escape: an internal server error.
            return SynapseError(500, "Internal server error")
        if not self.secret or token != self.secret:
            return SynapseError(403, "This endpoint must only be called by MAS")
        return None

    # -- helpers --------------------------------------------------------------------------------

    def user(self, localpart):
        u = self.state["users"].get(localpart)
        if u is None:
            raise not_found_user()
        return u

    def check_username(self, localpart):
        """synapse/handlers/register.py check_username (no appservices, no guests)."""
        if any(c not in MXID_LOCALPART_ALLOWED for c in localpart):
            raise SynapseError(400, "User ID can only contain characters a-z, 0-9, or '=_-./+'",
                               "M_INVALID_USERNAME")
        if not localpart:
            raise SynapseError(400, "User ID cannot be empty", "M_INVALID_USERNAME")
        if localpart[0] == "_":
            raise SynapseError(400, "User ID may not begin with _", "M_INVALID_USERNAME")
        user_id = "@%s:%s" % (localpart, self.server_name)
        if len(user_id) > MAX_USERID_LENGTH:
            raise SynapseError(400, "User ID may not be longer than %d characters"
                               % MAX_USERID_LENGTH, "M_INVALID_USERNAME")
        wanted = user_id.lower()
        for lp in self.state["users"]:
            if ("@%s:%s" % (lp, self.server_name)).lower() == wanted:
                raise SynapseError(400, "User ID already taken.", "M_USER_IN_USE")
        if GUEST_USER_ID_PATTERN.fullmatch(localpart):
            raise SynapseError(400, "Numeric user IDs are reserved for guest users.",
                               "M_INVALID_USERNAME")

    @staticmethod
    def set_displayname(u, new):
        """synapse/handlers/profile.py set_displayname (by_admin)."""
        if len(new) > MAX_DISPLAYNAME_LEN:
            raise SynapseError(400, "Displayname is too long (max %d)" % MAX_DISPLAYNAME_LEN)
        u["display_name"] = None if new == "" else new.strip()

    @staticmethod
    def set_avatar_url(u, new):
        if len(new) > MAX_AVATAR_URL_LEN:
            raise SynapseError(400, "Avatar URL is too long (max %d)" % MAX_AVATAR_URL_LEN)
        u["avatar_url"] = None if new == "" else new

    @staticmethod
    def check_device_name(name):
        if name and len(name) > MAX_DEVICE_DISPLAY_NAME_LEN:
            raise SynapseError(400, "Device display name is too long (max %d)"
                               % MAX_DEVICE_DISPLAY_NAME_LEN, "M_TOO_LARGE")

    # -- endpoints ------------------------------------------------------------------------------

    def get_localpart(self, args, required):
        values = args.get(b"localpart")
        if values is None:
            if required:
                raise SynapseError(400, "Missing string query parameter 'localpart'",
                                   "M_MISSING_PARAM")
            return None
        try:
            return values[0].decode("ascii")
        except UnicodeDecodeError:
            raise SynapseError(400, "Query parameter 'localpart' must be ascii")

    def do_get(self, name, args):
        lp = self.get_localpart(args, required=(name == "query_user"))
        if name == "query_user":
            u = self.user(lp)
            return 200, {
                "user_id": "@%s:%s" % (lp, self.server_name),
                "display_name": u["display_name"],
                "avatar_url": u["avatar_url"],
                "is_suspended": bool(u["suspended"]),
                "is_deactivated": bool(u["deactivated"]),
            }
        if lp is None:
            raise SynapseError(400, "Missing localpart")
        self.check_username(lp)
        return 200, {}

    def do_post(self, name, b):
        users = self.state["users"]
        lp = b["localpart"]
        if name == "provision_user":
            u = users.get(lp)
            created = u is None
            if created:
                self.check_username(lp)
                u = new_user(b["set_displayname"] if b["set_displayname"] is not None else lp)
                for e in b["set_emails"] or []:
                    if e not in u["emails"]:
                        u["emails"].append(e)
                users[lp] = u
            else:
                if b["unset_displayname"]:
                    self.set_displayname(u, "")
                elif b["set_displayname"] is not None:
                    self.set_displayname(u, b["set_displayname"])
                target = None
                if b["unset_emails"]:
                    target = set()
                elif b["set_emails"] is not None:
                    target = set(b["set_emails"])
                if target is not None:
                    current = set(u["emails"])
                    u["emails"] = [e for e in u["emails"] if e in target]
                    u["emails"] += sorted(target - current)
            if b["locked"] is not None:
                u["locked"] = b["locked"]
            if b["unset_avatar_url"]:
                self.set_avatar_url(u, "")
            elif b["set_avatar_url"] is not None:
                self.set_avatar_url(u, b["set_avatar_url"])
            return (201 if created else 200), {}

        u = self.user(lp)
        if name == "delete_user":
            u["deactivated"] = True
            u["devices"] = {}
            u["emails"] = []
            if b["erase"]:
                u["display_name"] = None
                u["avatar_url"] = None
                u["erased"] = True
            return 200, {}
        if name == "reactivate_user":
            u["deactivated"] = False
            u["erased"] = False
            return 200, {}
        if name == "set_displayname":
            self.set_displayname(u, b["displayname"])
            return 200, {}
        if name == "unset_displayname":
            self.set_displayname(u, "")
            return 200, {}
        if name == "allow_cross_signing_reset":
            # The user has no master cross-signing key here: Synapse logs and does nothing.
            return 200, {}
        if name == "upsert_device":
            self.check_device_name(b["display_name"])
            if b["device_id"] not in u["devices"]:
                u["devices"][b["device_id"]] = b["display_name"]
                return 201, {}
            if b["display_name"] is not None:
                u["devices"][b["device_id"]] = b["display_name"]
            return 200, {}
        if name == "delete_device":
            u["devices"].pop(b["device_id"], None)
            return 204, None
        if name == "update_device_display_name":
            self.check_device_name(b["display_name"])
            if b["device_id"] not in u["devices"]:
                raise SynapseError(404, "Not found", "M_NOT_FOUND")
            u["devices"][b["device_id"]] = b["display_name"]
            return 200, {}
        if name == "sync_devices":
            current = set(u["devices"])
            for d in current - b["devices"]:
                del u["devices"][d]
            for d in sorted(b["devices"] - current):
                u["devices"][d] = None
            return 200, {}
        raise AssertionError(name)


# ------------------------------------------------------------------------------------------------
# HTTP

def parse_query(raw):
    """Twisted's request.args: {bytes: [bytes]}, '&'-separated, '+' is a space, blanks kept."""
    args = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        k, _, v = part.partition(b"=")
        k = urllib.parse.unquote_to_bytes(k.replace(b"+", b" "))
        v = urllib.parse.unquote_to_bytes(v.replace(b"+", b" "))
        args.setdefault(k, []).append(v)
    return args


def json_decode_strict(text):
    def reject(name):
        raise ValueError("invalid constant " + name)
    return json.JSONDecoder(parse_constant=reject).decode(text)


def encode(obj):
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Synapse/%s (masd stand-in)" % SYNAPSE_VERSION
    hs = None  # set in main()

    def version_string(self):
        return self.server_version

    def __getattr__(self, name):
        # Every method reaches _dispatch (BaseHTTPRequestHandler answers 501 to unknown ones).
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        sys.stderr.write("standin: %s %s\n" % (self.address_string(), fmt % args))

    # -- body -----------------------------------------------------------------------------------

    def read_body(self):
        """The request body as bytes, or None when it cannot be framed (connection closed)."""
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if te:
            if te != "chunked":
                return None
            body = bytearray()
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    return None
                body += self.rfile.read(size)
                self.rfile.readline(65537)
        cl = self.headers.get_all("Content-Length") or []
        if not cl:
            return b""
        if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
            return None
        n = int(cl[0].strip())
        if n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    # -- responses ------------------------------------------------------------------------------

    def respond(self, status, obj, extra_headers=()):
        head = self.command == "HEAD"
        if status == 204:
            body = b""
        else:
            body = encode(obj if obj is not None else {})
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers",
                         "X-Requested-With, Content-Type, Authorization, Date")
        for k, v in extra_headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and not head:
            self.wfile.write(body)
        self.wfile.flush()

    def error(self, e):
        return e.code, {"errcode": e.errcode, "error": e.msg}

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self):
        hs = self.hs
        t = int(time.time() * 1000)
        raw_target = self.path.encode("latin-1", "replace")
        raw_path, _, raw_query = raw_target.partition(b"?")
        path = urllib.parse.unquote_to_bytes(raw_path).decode("utf-8", "replace")
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.respond(400, {"errcode": "M_UNKNOWN", "error": "Unreadable request body"})
            return
        if path.startswith(CONTROL_PREFIX):
            self.control(path[len(CONTROL_PREFIX):], body)
            return

        args = parse_query(raw_query)
        auth_headers = [v.encode("latin-1", "replace").strip(b" \t")
                        for v in (self.headers.get_all("Authorization") or [])]
        auth_error = hs.check_auth(auth_headers, args)
        rec = {
            "method": self.command,
            "path": raw_path.decode("latin-1"),
            "query": raw_query.decode("latin-1"),
            "auth_ok": auth_error is None,
            "body": None,
            "status": None,
            "t": t,
        }
        if body:
            text = body.decode("utf-8", "replace")
            try:
                rec["body"] = json_decode_strict(body.decode("utf-8"))
            except ValueError:
                rec["body"] = text

        is_mas = path.startswith(MAS_PREFIX)
        if is_mas and hs.latency_ms > 0:
            time.sleep(hs.latency_ms / 1000.0)
        if is_mas:
            with hs.lock:
                injected = None
                if hs.fail["count"] > 0:
                    hs.fail["count"] -= 1
                    injected = dict(hs.fail)
            if injected is not None:
                rec["status"] = injected["status"]
                hs.write_record(rec)
                if injected["status"] == 0:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.respond(injected["status"],
                             {"errcode": injected["errcode"], "error": injected["error"]})
                return

        status, obj = self.handle_api(path, body, args, auth_error)
        rec["status"] = status
        hs.write_record(rec)
        self.respond(status, obj)

    def handle_api(self, path, body, args, auth_error):
        hs = self.hs
        method = self.command
        if method == "OPTIONS":
            return 204, None
        name = path[len(MAS_PREFIX):] if path.startswith(MAS_PREFIX) else None
        if name not in GET_ENDPOINTS and name not in POST_ENDPOINTS:
            return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
        if method == "HEAD":
            method = "GET"
        if (method == "GET" and name not in GET_ENDPOINTS) or \
                (method == "POST" and name not in POST_ENDPOINTS) or method not in ("GET", "POST"):
            return 405, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
        try:
            if auth_error is not None:
                raise auth_error
            if method == "GET":
                with hs.lock:
                    return hs.do_get(name, args)
            try:
                content = json_decode_strict(body.decode("utf-8"))
            except ValueError:
                raise SynapseError(400, "Content not JSON.", "M_NOT_JSON")
            if not isinstance(content, dict):
                raise SynapseError(400, "Content must be a JSON object.", "M_BAD_JSON")
            b = validate(name, content)
            with hs.lock:
                try:
                    return hs.do_post(name, b)
                finally:
                    hs.save()
        except SynapseError as e:
            return self.error(e)

    # -- control API ----------------------------------------------------------------------------

    def control(self, what, body):
        hs = self.hs
        method = self.command
        try:
            content = json_decode_strict(body.decode("utf-8")) if body.strip() else {}
        except ValueError:
            self.respond(400, {"error": "body is not JSON"})
            return

        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        with hs.lock:
            if what == "state" and method in ("GET", "HEAD"):
                self.respond(200, hs.state)
            elif what == "state" and method == "POST":
                try:
                    hs.state = normalise_state(content)
                except ValueError as e:
                    self.respond(400, {"error": str(e)})
                    return
                hs.save()
                self.respond(200, {})
            elif what == "latency" and method in ("GET", "HEAD"):
                self.respond(200, {"ms": hs.latency_ms})
            elif what == "latency" and method == "POST":
                ms = content.get("ms") if isinstance(content, dict) else None
                if not is_int(ms) or ms < 0:
                    self.respond(400, {"error": '{"ms": N} with an integer N >= 0'})
                    return
                hs.latency_ms = ms
                self.respond(200, {})
            elif what == "fail" and method in ("GET", "HEAD"):
                self.respond(200, {"status": hs.fail["status"], "count": hs.fail["count"]})
            elif what == "fail" and method == "POST":
                c = content if isinstance(content, dict) else {}
                status, count = c.get("status", 500), c.get("count", 1)
                errcode, error = c.get("errcode", "M_UNKNOWN"), c.get("error", "Injected failure")
                if not is_int(status) or not (status == 0 or 100 <= status <= 599) or \
                        not is_int(count) or count < 0 or \
                        not isinstance(errcode, str) or not isinstance(error, str):
                    self.respond(400, {"error": '{"status": 0|100..599, "count": N >= 0, '
                                                '"errcode"?: str, "error"?: str}'})
                    return
                hs.fail = {"status": status, "count": count, "errcode": errcode, "error": error}
                self.respond(200, {})
            elif what == "reset" and method == "POST":
                hs.state = {"users": {}}
                hs.fail["count"] = 0
                hs.latency_ms = hs.default_latency_ms
                hs.save()
                self.respond(200, {})
            elif what in ("state", "latency", "fail", "reset"):
                self.respond(405, {"error": "method not allowed"})
            else:
                self.respond(404, {"error": "no such control endpoint"})


# ------------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="Stand-in Synapse for the /_synapse/mas/* API.")
    p.add_argument("--listen", default=None, metavar="HOST:PORT")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--server-name", default="example.com")
    p.add_argument("--secret", default=None)
    p.add_argument("--secret-file", default=None)
    p.add_argument("--state", default=None)
    p.add_argument("--record", default=None)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--fail-next", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--pidfile", default=None)
    opts = p.parse_args(argv)
    if (opts.secret is None) == (opts.secret_file is None):
        p.error("exactly one of --secret and --secret-file is required")
    if opts.secret_file is not None:
        with open(opts.secret_file, encoding="utf-8") as f:
            opts.secret_value = f.read().strip()
    else:
        opts.secret_value = opts.secret
    if opts.listen and opts.port is not None:
        p.error("--listen and --port are exclusive")
    listen = opts.listen or "127.0.0.1:%d" % (opts.port if opts.port is not None else 8008)
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:]+):(\d+)", listen)
    if not m:
        p.error("--listen wants HOST:PORT")
    opts.host = m.group(1) or m.group(3)
    opts.port = int(m.group(2) or m.group(4))
    if opts.latency_ms < 0 or opts.fail_next < 0:
        p.error("--latency-ms and --fail-next must be >= 0")
    return opts


def main(argv):
    opts = parse_args(argv)
    try:
        hs = Homeserver(opts)
    except (OSError, ValueError) as e:
        print("standin: cannot load state: %s" % e, file=sys.stderr)
        return 2
    Handler.hs = hs

    server_class = ThreadingHTTPServer
    if ":" in opts.host:
        import socket

        class V6Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6
        server_class = V6Server
    server_class.daemon_threads = True
    server = server_class((opts.host, opts.port), Handler)
    host, port = server.server_address[:2]

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    if opts.pidfile:
        with open(opts.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    print("listening on %s:%d" % ("[%s]" % host if ":" in host else host, port), flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    with hs.lock:
        hs.save()
    if opts.pidfile:
        try:
            os.unlink(opts.pidfile)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
