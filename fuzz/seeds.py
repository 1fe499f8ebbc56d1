#!/usr/bin/env python3
"""Writes the seed corpora (fuzz/corpus/<target>/) and dictionaries (fuzz/dict/<target>.dict).

Seeds come from the existing test tables, read from the sources (so a case added to a table
becomes a seed the next time this runs), and from the fixture of fuzz/src/lib.rs (the known
token value and the ticket and session keys, so that some seeds authenticate or verify).

    python3 fuzz/seeds.py        # rewrites every seed; commit the result

Each seed file is named after its content's SHA-1, as libFuzzer names the inputs it keeps.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import shutil
import sys
import unicodedata
import zlib
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent


def read(path):
    return (ROOT / path).read_text(encoding="utf-8")


# --- Rust string literals ----------------------------------------------------------------------

LITERAL = re.compile(r'(?<![A-Za-z0-9_\'])b?"((?:[^"\\]|\\.)*)"', re.S)


def unescape(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u":
            end = body.index("}", i)
            out.append(chr(int(body[i + 3 : end], 16)))
            i = end + 1
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "\n":
            # A line continuation: the newline and the next line's leading spaces go.
            i += 2
            while i < len(body) and body[i] in " \t":
                i += 1
        else:
            out.append({"n": "\n", "r": "\r", "t": "\t", "0": "\0"}.get(nxt, nxt))
            i += 2
    return "".join(out)


def literals(text):
    return [unescape(m.group(1)) for m in LITERAL.finditer(text)]


def calls(source, name):
    """The argument text of every call `name(…)` (balanced parentheses, strings skipped)."""
    found = []
    for match in re.finditer(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?:::<[^>]*>)?\(", source):
        depth, i, in_string = 1, match.end(), False
        while i < len(source) and depth:
            c = source[i]
            if in_string:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        found.append((match.group(0), source[match.end() : i - 1]))
    return found


def tests_of(path):
    """The test module of a source file (everything from `#[cfg(test)]`)."""
    text = read(path)
    at = text.find("#[cfg(test)]")
    return text[at:] if at >= 0 else text


# --- The fixture ---------------------------------------------------------------------------------

LIB = read("fuzz/src/lib.rs")
VALUE = re.search(r'pub const VALUE: &str =\s*"([^"]+)"', LIB).group(1)
TICKET_KEY = re.search(r'pub const TICKET_KEY: &\[u8\] = b"([^"]+)"', LIB).group(1).encode()
SESSION_KEY = re.search(r'pub const SESSION_KEY: &\[u8\] = b"([^"]+)"', LIB).group(1).encode()
NOW = int(re.search(r"pub const NOW_UNIX: i64 = ([0-9_]+);", LIB).group(1).replace("_", ""))

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def checksum(text):
    n, digits = zlib.crc32(text.encode()), ""
    for _ in range(6):
        digits = BASE62[n % 62] + digits
        n //= 62
    return digits


def token_value(id_digits, tail):
    body = f"idt:TKN-{id_digits[:4]}-{id_digits[4:]}:{tail}"
    return body + checksum(body)


def mac(key, message):
    tag = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(tag).decode().rstrip("=")


# --- Writing -------------------------------------------------------------------------------------

def write(target, seeds):
    folder = FUZZ / "corpus" / target
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    unique = {}
    for seed in seeds:
        data = seed if isinstance(seed, bytes) else seed.encode("utf-8")
        unique[hashlib.sha1(data).hexdigest()] = data
    for name, data in sorted(unique.items()):
        (folder / name).write_bytes(data)
    print(f"{target}: {len(unique)} seeds")


def write_dict(target, tokens):
    lines = [f"# {target}: written by fuzz/seeds.py"]
    for token in dict.fromkeys(tokens):
        data = token if isinstance(token, bytes) else token.encode("utf-8")
        escaped = "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02X}" for b in data
        )
        lines.append(f'"{escaped}"')
    (FUZZ / "dict").mkdir(exist_ok=True)
    (FUZZ / "dict" / f"{target}.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- Token values and the Authorization header -------------------------------------------------

def token_value_seeds():
    other = token_value("00000042", "A" * 58)
    seeds = [VALUE, other, token_value("99999999", "z" * 58), token_value("00000000", "0" * 58)]
    # The malformed table of secret.rs, applied to the known value.
    seeds += [
        "",
        VALUE[1:],
        "xdt" + VALUE[3:],
        VALUE.replace("TKN-1234-5678:", "TKN-1234-5678.", 1),
        VALUE.replace("TKN-1234-5678", "TKN-1234-567x", 1),
        VALUE[:30] + "_" + VALUE[31:],
        VALUE[:-1] + ("1" if VALUE.endswith("0") else "0"),
        VALUE + " ",
    ]
    return seeds


def authorization_seeds():
    seeds = [f"Bearer {VALUE}", f"bearer  {VALUE}", f"BEARER {VALUE} ", VALUE, f"Basic {VALUE}",
             f"Bearer{VALUE}", f"Bearer {VALUE}\nBearer {VALUE}", f"Bearer {VALUE}\n", "Bearer nope",
             "Bearer idt:x", f"Bearer {token_value('00000042', 'A' * 58)}"]
    seeds.append(b"Bearer \xff")
    # The strings of the Authorization tables.
    for arguments in [a for _, a in calls(read("crates/tollgate-domain/src/authz/tests.rs"), "Some")]:
        seeds += [s for s in literals(arguments) if s.lower().startswith(("bearer", "basic"))]
    return seeds


# --- Paths -------------------------------------------------------------------------------------------

def path_seeds():
    seeds = []
    tests = read("crates/tollgate-domain/src/authz/tests.rs")
    for name in ("ok", "refused", "check_path", "Some"):
        for _, arguments in calls(tests, name):
            found = literals(arguments)
            if found and (found[0].startswith("/") or name in ("ok", "refused")):
                seeds.append(found[0])
    gateways = read("bin/tollgate/tests/gateways/main.rs")
    seeds += [s for s in literals(gateways) if s.startswith("/public/")]
    envoy = read("crates/tollgate-http/tests/api/envoy.rs")
    seeds += [s for s in literals(envoy) if s.startswith("/public/")]
    return seeds


def nfkc_delimiters():
    """Every character whose compatibility form holds a delimiter a path reader acts on."""
    found = []
    for code in range(0xA0, 0x110000):
        c = chr(code)
        if unicodedata.category(c) in ("Cs", "Cn"):
            continue
        form = unicodedata.normalize("NFKC", c)
        if form != c and any(d in form for d in "./\\;%?#"):
            found.append(c)
    return found


def path_dict():
    tokens = ["/", "//", ".", "..", "/..", "/./", ";", "\\", "?", "#", "%", "%2e", "%2E", "%2f",
              "%2F", "%5c", "%5C", "%3b", "%3B", "%25", "%3f", "%23", "%00", "%20", "%c0%ae",
              "%e2%80%a5", "/public/v1/"]
    for module in re.findall(r'&\["([a-z/"\-, ]+)"\]', read("crates/tollgate-domain/src/module.rs")):
        tokens += [p.strip('" ') for p in module.split(",")]
    for c in nfkc_delimiters():
        tokens.append(c)
        tokens.append("".join(f"%{b:02X}" for b in c.encode("utf-8")))
    return tokens


# --- Forwarded-address headers --------------------------------------------------------------------

def is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def forwarded_seeds():
    seeds = []
    tests = tests_of("crates/tollgate-domain/src/forwarded.rs")
    heads = [
        bytes([0, 0, 198, 51, 100, 7] + [0] * 18),
        bytes([2, 1, 0x20, 0x01, 0x0D, 0xB8] + [0] * 12 + [0, 8, 16, 24, 0, 0b00011011]),
        bytes([6, 2, 203, 0, 113, 9] + [0] * 12 + [1, 0x28, 0x48, 0x88, 5, 0b11100100]),
    ]
    for name, kind in (("xff", 0), ("fwd", 1)):
        for _, arguments in calls(tests, name):
            found = literals(arguments)
            if len(found) < 2:
                continue
            # `xff(peer, lines, expect)`, or `fwd(lines, expect)` where the peer is fixed.
            lines = found[1:-1] if is_address(found[0]) else found[:-1]
            for head in heads:
                head = bytes([head[0] | kind]) + head[1:]
                seeds.append(head + "\n".join(lines).encode())
    client = read("crates/tollgate-http/tests/api/client_address.rs")
    for match in re.finditer(r"\((XFF|FORWARDED), \"((?:[^\"\\]|\\.)*)\"\)", client):
        kind = 0 if match.group(1) == "XFF" else 1
        seeds.append(bytes([kind | 2] + [0] * 23) + unescape(match.group(2)).encode())
    return seeds


def forwarded_dict():
    return ["for=", "For=", "proto=https", "by=", "host=", ";", ",", ", ", '"', '\\"', "[", "]",
            ":", "::ffff:", "unknown", "_hidden", "10.0.0.1", "2001:db8:1::1", "203.0.113.9",
            "[2001:db8::9]:4711", "\n", "\xff"]


# --- RQL ---------------------------------------------------------------------------------------------

FIELD_PICK = {"TokenField": 0, "AuditField": 1, "ModuleField": 2, "EventTypeField": 3}


def rql_queries():
    """(field pick, query string) for every query string of tests/rql.rs and the API tests."""
    found = []
    tests = read("crates/tollgate-http/tests/rql.rs")
    for name in ("check", "check_error", "parse_list_query", "decode_term"):
        for call, arguments in calls(tests, name):
            strings = literals(arguments)
            if not strings:
                continue
            pick = next((v for k, v in FIELD_PICK.items() if k in call), 0)
            found.append((pick, strings[0]))
    for path in ("crates/tollgate-http/tests/api/clients.rs", "crates/tollgate-http/tests/api/lifecycle.rs"):
        for string in literals(read(path)):
            for prefix, pick in (("/public/v1/accounts/api-tokens?", 0), ("/public/v1/audit/records?", 1),
                                 ("/public/v1/accounts/modules?", 2), ("/public/v1/audit/event-types?", 3)):
                if string.startswith(prefix):
                    found.append((pick, string[len(prefix):]))
    found += [(2, "code=marketplace"), (2, "ilike(name,*bill*)&order=-name"), (2, "in(id,(MOD-1102,MOD-1104))"),
              (3, "eq(key,platform.accounts.api-token.created)"), (3, "like(name,*oken*)&limit=1")]
    return found


def percent_decode(text):
    out, i, data = bytearray(), 0, text.encode()
    while i < len(data):
        if data[i] == 0x25 and re.fullmatch(rb"[0-9A-Fa-f]{2}", data[i + 1 : i + 3] or b""):
            out.append(int(data[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return out.decode("utf-8", "replace")


def rql_query_seeds():
    return [bytes([pick]) + query.encode() for pick, query in rql_queries()]


def rql_filter_seeds():
    seeds = []
    for pick, query in rql_queries():
        for term in query.split("&"):
            term = percent_decode(term)
            if "(" in term and not term.startswith(("order=", "select=")):
                seeds.append(bytes([pick]) + term.encode())
    # The typed values of query.rs's tests, as times.
    for string in literals(tests_of("crates/tollgate-domain/src/query.rs")):
        if re.match(r"^[-+]?[0-9]{4}-", string):
            seeds.append(b"\0" + f"eq(lastAccessAt,{string})".encode())
    return seeds


def rql_dict():
    return ["eq(", "ne(", "gt(", "ge(", "lt(", "le(", "like(", "ilike(", "in(", "out(", "and(", "or(",
            "not(", "any(", "empty()", "null()", "render()", ",", "(", ")", "'", '"', "\\", "*", "&",
            "=", "%25", "%26", "limit=", "offset=", "order=", "select=", "token=", "+", "-", "id",
            "name", "description", "status", "account.id", "modules.id", "modules", "lastAccessAt",
            "audit.created.at", "audit.created.by.id", "Active", "Disabled", "Deleted", "code", "key",
            "2026-11-28T10:00:00Z", "2026-11-28T10:00:00.123456789+05:30", "TKN-1234-5678",
            "MOD-1102", "ACC-0042-0000"]


# --- JSON bodies -------------------------------------------------------------------------------------

def token_body_seeds():
    names = []
    for _, arguments in calls(tests_of("crates/tollgate-domain/src/values.rs"), "check_name"):
        strings = literals(arguments)
        if strings:
            names.append(strings[0])
    modules = [{"id": "MOD-1102"}, {"id": "MOD-1104", "code": "billing", "name": "Billing"}]
    bodies = [
        {"name": "CRM robot", "modules": [{"id": "MOD-1102"}]},
        {"name": "CRM robot", "description": "Nightly sync.\nLine two", "modules": modules,
         "account": {"id": "ACC-0042-0000"}, "icon": ""},
        {"name": "x", "modules": []},
        {"name": "x", "modules": [{"id": "MOD-9999"}, {"id": "nope"}]},
        {"name": "x", "icon": "data:image/png;base64,AAAA", "modules": [{"id": "MOD-1102"}]},
        {"name": "CRM robot", "revision": 1},
        {"description": ""},
        {"modules": [{"id": "MOD-1756"}], "revision": 2},
        {"name": "Renamed", "id": "TKN-1234-5678", "status": "Active", "icon": "",
         "account": {"id": "ACC-0420-0000", "name": "x", "type": "Operations", "status": "Active"},
         "lastAccessAt": None, "audit": {}, "token": VALUE, "$meta": {"omitted": ["audit"]}},
        {"name": None},
        {"unknown": 1},
        {},
    ]
    seeds = [json.dumps(body) for body in bodies]
    seeds += [json.dumps({"name": name, "modules": [{"id": "MOD-1102"}]}) for name in names]
    seeds += [json.dumps({"name": name}) for name in names]
    seeds += ["", "[]", "null", '{"name":"a","name":"b"}', '{"name":"\\ud800"}', "{\"name\":\"a\"", "{} "]
    return seeds


def token_body_dict():
    return ['"name"', '"description"', '"modules"', '"account"', '"icon"', '"revision"', '"id"',
            '"status"', '"lastAccessAt"', '"audit"', '"token"', '"$meta"', '"code"', '"type"',
            '"MOD-1102"', '"MOD-1756"', '"ACC-0420-0000"', "\\u0000", "\\n", "null", "true", "{", "}",
            "[", "]", ":", ","]


# --- Icons -------------------------------------------------------------------------------------------

def icon_seeds():
    png = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    one_pixel = png + bytes.fromhex(
        "0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
        "000154a24f5d0000000049454e44ae426082")
    return [png + b"\0", one_pixel, bytes([0xFF, 0xD8, 0xFF, 0xE0]), bytes([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) + b"JFIF",
            b"GIF89a", b"<svg", b"", png[:7], bytes([0xFF, 0xD8]), b" <html>"]


# --- Sign-in tickets and sessions --------------------------------------------------------------------

def sign_in_seeds():
    user, nonce, session_id = "USR-1111-2222", "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
    seeds = []
    for expires in (NOW + 300, NOW + 600, NOW + 1):
        message = f"tollgate-ticket|v1|{user}|{expires}|{nonce}"
        seeds.append(f"v1.{user}.{expires}.{nonce}.{mac(TICKET_KEY, message)}")
    for expires in (NOW + 8 * 3600, NOW + 1):
        message = f"tollgate-session|v1|{user}|{expires}|{session_id}"
        seeds.append(f"{user}.{expires}.{session_id}.{mac(SESSION_KEY, message)}")
    csrf_message = "tollgate-csrf|0123456789abcdef0123456789abcdef"
    seeds.append(mac(SESSION_KEY, csrf_message))
    tests = tests_of("crates/tollgate-domain/src/ticket.rs")
    bad = re.search(r"for bad in \[(.*?)\]", tests, re.S)
    if bad:
        seeds += literals(bad.group(1))
    return seeds


def main():
    write("token_value", token_value_seeds())
    write("authorization", authorization_seeds())
    write("request_path", path_seeds())
    write_dict("request_path", path_dict())
    write("forwarded", forwarded_seeds())
    write_dict("forwarded", forwarded_dict())
    write("rql_query", rql_query_seeds())
    write_dict("rql_query", rql_dict())
    write("rql_filter", rql_filter_seeds())
    write_dict("rql_filter", rql_dict())
    write("token_body", token_body_seeds())
    write_dict("token_body", token_body_dict())
    write("icon", icon_seeds())
    write("sign_in", sign_in_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
