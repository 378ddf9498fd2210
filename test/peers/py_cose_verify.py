#!/usr/bin/python3
"""Independent Tapwire batch verifier / signer: Debian's cbor2 + PyNaCl, none of our code.

  verify --pubkey HEX [--device ID] [FILE]   COSE_Sign1 bytes from FILE (or stdin);
                                             prints JSON, exit 0; exit 1 + reason on stderr
  sign --seed HEX --json-payload FILE        signs a batch payload described in JSON
                                             (prev as hex, senml records with int labels
                                             as string keys) -> COSE_Sign1 hex on stdout

Checks: tag 18, 4-element array, protected header {1: -8, 3: tstr, 4: kid} with
kid == SHA-256(pub)[:8], Ed25519 over ["Signature1", protected, h'', payload],
payload v == 1, SenML labels, bn/bt resolution (RFC 8428 section 4.5).
"""

import argparse
import hashlib
import json
import sys

import cbor2
import nacl.exceptions
import nacl.signing

SENML = {-2: "bn", -3: "bt", -4: "bu", 0: "n", 1: "u", 2: "v", 3: "vs", 4: "vb", 6: "t"}


class Invalid(Exception):
    pass


def num(x, what):
    # bool is an int subclass in Python: refuse it explicitly
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise Invalid(f"{what} must be a number, got {type(x).__name__}")
    return x


def resolve_senml(records, device):
    if not isinstance(records, list):
        raise Invalid("senml must be an array")
    prefix = f"urn:dev:tapwire:{device}:" if device else None
    bn, bt, bu = "", 0, None
    out = []
    for i, rec in enumerate(records):
        where = f"senml[{i}]"
        if not isinstance(rec, dict):
            raise Invalid(f"{where}: not a map")
        for k in rec:
            if isinstance(k, bool) or not isinstance(k, int) or k not in SENML:
                raise Invalid(f"{where}: unknown label {k!r}")
        if -2 in rec:
            if not isinstance(rec[-2], str):
                raise Invalid(f"{where}: bn must be text")
            bn = rec[-2]
        if -3 in rec:
            bt = num(rec[-3], f"{where}: bt")
        if -4 in rec:
            bu = rec[-4]
        n = rec.get(0, "")
        if not isinstance(n, str):
            raise Invalid(f"{where}: n must be text")
        full = bn + n
        t = num(rec.get(6, 0), f"{where}: t")
        r = {"fullName": full, "name": full, "time": bt + t}
        if prefix is not None:
            if not full.startswith(prefix):
                raise Invalid(f"{where}: name {full!r} not under {prefix}")
            r["name"] = full[len(prefix):]
        values = [k for k in (2, 3, 4) if k in rec]
        if len(values) != 1:
            raise Invalid(f"{where}: expected exactly one of v, vs, vb")
        if 2 in rec:
            r["v"] = num(rec[2], f"{where}: v")
        elif 3 in rec:
            if not isinstance(rec[3], str):
                raise Invalid(f"{where}: vs must be text")
            r["vs"] = rec[3]
        else:
            if not isinstance(rec[4], bool):
                raise Invalid(f"{where}: vb must be a boolean")
            r["vb"] = rec[4]
        unit = rec.get(1, bu)
        if unit is not None:
            r["unit"] = unit
        out.append(r)
    return out


def verify(data, pub, device):
    try:
        item = cbor2.loads(data)
    except Exception as e:  # cbor2 raises several types
        raise Invalid(f"not CBOR: {e}")
    if not isinstance(item, cbor2.CBORTag) or item.tag != 18:
        raise Invalid("not a COSE_Sign1 (tag 18)")
    msg = item.value
    if not isinstance(msg, list) or len(msg) != 4:
        raise Invalid("COSE_Sign1 must be an array of 4")
    protected, unprotected, payload, signature = msg
    if not isinstance(protected, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise Invalid("protected, payload and signature must be byte strings")
    if not isinstance(unprotected, dict):
        raise Invalid("unprotected header must be a map")
    hdr = cbor2.loads(protected)
    if not isinstance(hdr, dict):
        raise Invalid("protected header must be a map")
    if hdr.get(1) != -8:
        raise Invalid(f"alg must be EdDSA (-8), got {hdr.get(1)!r}")
    if not isinstance(hdr.get(3), str):
        raise Invalid("content type (3) missing")
    kid = hashlib.sha256(pub).digest()[:8]
    if hdr.get(4) != kid:
        raise Invalid(f"kid {hdr.get(4)!r} does not match the public key ({kid.hex()})")
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    try:
        nacl.signing.VerifyKey(pub).verify(sig_structure, signature)
    except nacl.exceptions.BadSignatureError:
        raise Invalid("bad signature")
    p = cbor2.loads(payload)
    if not isinstance(p, dict):
        raise Invalid("payload must be a map")
    if p.get("v") != 1:
        raise Invalid(f"unsupported batch version {p.get('v')!r}")
    for key, typ in (("dev", str), ("seq", int), ("prev", bytes), ("clk", str)):
        if not isinstance(p.get(key), typ):
            raise Invalid(f"payload {key} missing or wrong type")
    if len(p["prev"]) != 32 or p["clk"] not in ("sync", "free"):
        raise Invalid("payload prev/clk invalid")
    if device and p["dev"] != device:
        raise Invalid(f"device {p['dev']!r} != {device!r}")
    out = {
        "ok": True,
        "contentType": hdr[3],
        "kid": kid.hex(),
        "dev": p["dev"],
        "seq": p["seq"],
        "prev": p["prev"].hex(),
        "clk": p["clk"],
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if ("senml" in p) == ("gap" in p):
        raise Invalid("exactly one of senml / gap")
    if "senml" in p:
        out["readings"] = resolve_senml(p["senml"], p["dev"])
    else:
        out["gap"] = p["gap"]
    return out


def from_json_payload(desc):
    """JSON description -> payload dict with real bytes and int SenML labels."""
    p = dict(desc)
    p["prev"] = bytes.fromhex(desc["prev"])
    if "senml" in desc:
        p["senml"] = [{int(k): v for k, v in rec.items()} for rec in desc["senml"]]
    return p


def sign(seed, payload_desc):
    key = nacl.signing.SigningKey(seed)
    pub = bytes(key.verify_key)
    kid = hashlib.sha256(pub).digest()[:8]
    protected = cbor2.dumps({1: -8, 3: "application/tapwire+cbor", 4: kid})
    # canonical=True: cbor2 picks the shortest float encoding itself
    payload = cbor2.dumps(from_json_payload(payload_desc), canonical=True)
    sig = key.sign(cbor2.dumps(["Signature1", protected, b"", payload])).signature
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, sig]))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--pubkey", required=True)
    v.add_argument("--device")
    v.add_argument("file", nargs="?")
    s = sub.add_parser("sign")
    s.add_argument("--seed", required=True)
    s.add_argument("--json-payload", required=True)
    args = ap.parse_args()
    if args.cmd == "verify":
        data = open(args.file, "rb").read() if args.file else sys.stdin.buffer.read()
        try:
            out = verify(data, bytes.fromhex(args.pubkey), args.device)
        except Invalid as e:
            print(f"py_cose_verify: {e}", file=sys.stderr)
            sys.exit(1)
        except Exception as e:  # malformed input deep inside cbor2 / nacl: still a clean refusal
            print(f"py_cose_verify: malformed input: {type(e).__name__}: {e}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps(out))
    else:
        with open(args.json_payload) as f:
            desc = json.load(f)
        sys.stdout.write(sign(bytes.fromhex(args.seed), desc).hex() + "\n")


if __name__ == "__main__":
    main()
