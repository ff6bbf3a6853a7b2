#!/usr/bin/python3
"""An AWS KMS stand-in for tests: the JSON 1.1 protocol (POST /, X-Amz-Target
TrentService.<Action>, Content-Type application/x-amz-json-1.1) for CreateKey,
CreateAlias, ListAliases, Encrypt and Decrypt, with AWS's documented request and
response fields and error shape ({"__type": ..., "message": ...}, HTTP 400).

Every request's SigV4 signature is recomputed with botocore's own signer
(botocore.auth.SigV4Auth) over the request as received and compared with the one sent;
a mismatch is refused with InvalidSignatureException. Ciphertext blobs are real
AES-256-GCM: b"FKMS1" | key id (36 ASCII) | nonce (12) | ciphertext+tag, the key id and
encryption context bound as associated data.

Usage: fake_kms.py --port-file FILE --region R --credentials JSON [--mode M]
                   [--page-size N] [--alias-delay N] [--log FILE]
--credentials: {"<access key id>": {"secret": "...", "deny": false}, ...}
--mode: normal | malformed (200 with a body that is not JSON) | silent (never answers)
--page-size: ListAliases page length (pagination); --alias-delay: a new alias shows in
ListAliases only after N further ListAliases calls (eventual consistency).
"""
import argparse
import base64
import datetime
import hmac
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ACCOUNT = "111122223333"
BLOB_MAGIC = b"FKMS1"
REQUIRED_SIGNED = {"host", "x-amz-date", "x-amz-target", "content-type"}


class KmsError(Exception):
    def __init__(self, type_, message):
        super().__init__(message)
        self.type = type_
        self.message = message


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--credentials", required=True)
    ap.add_argument("--mode", default="normal", choices=["normal", "malformed", "silent"])
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--alias-delay", type=int, default=0)
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    creds = json.loads(args.credentials)
    region = args.region
    lock = threading.Lock()
    keys = {}      # key id -> AES key
    aliases = []   # dicts: name, key_id, visible_after (ListAliases call count)
    state = {"lists": 0}
    # AWS-managed aliases exist in every account; they have no target until used.
    for n in ("alias/aws/ebs", "alias/aws/rds", "alias/aws/s3"):
        aliases.append({"name": n, "key_id": None, "visible_after": 0})

    def log(line):
        sys.stderr.write("fake_kms: " + line + "\n")
        if args.log:
            with open(args.log, "a") as f:
                f.write(line + "\n")

    def arn_key(kid):
        return "arn:aws:kms:%s:%s:key/%s" % (region, ACCOUNT, kid)

    def resolve(key_id):
        if not isinstance(key_id, str) or not key_id:
            raise KmsError("ValidationException", "KeyId is required")
        name = None
        if key_id.startswith("alias/"):
            name = key_id
        elif key_id.startswith("arn:aws:kms:") and ":alias/" in key_id:
            name = key_id[key_id.index(":alias/") + 1:]
        if name is not None:
            for a in aliases:
                if a["name"] == name and a["key_id"]:
                    return a["key_id"]
            raise KmsError("NotFoundException", "Alias %s is not found." % arn_alias(name))
        if key_id.startswith("arn:aws:kms:") and ":key/" in key_id:
            key_id = key_id.split(":key/", 1)[1]
        if key_id not in keys:
            raise KmsError("NotFoundException", "Key '%s' does not exist" % arn_key(key_id))
        return key_id

    def arn_alias(name):
        return "arn:aws:kms:%s:%s:%s" % (region, ACCOUNT, name)

    def aad(kid, ctx):
        return kid.encode() + json.dumps(ctx or {}, sort_keys=True).encode()

    def op_create_key(req):
        kid = str(uuid.uuid4())
        keys[kid] = AESGCM.generate_key(bit_length=256)
        return {"KeyMetadata": {
            "AWSAccountId": ACCOUNT, "KeyId": kid, "Arn": arn_key(kid),
            "CreationDate": time.time(), "Enabled": True,
            "Description": req.get("Description", ""), "KeyUsage": "ENCRYPT_DECRYPT",
            "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "KeySpec": "SYMMETRIC_DEFAULT",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}}

    def op_create_alias(req):
        name = req.get("AliasName")
        if not isinstance(name, str) or not name.startswith("alias/") or \
                name.startswith("alias/aws/"):
            raise KmsError("ValidationException", "Invalid AliasName")
        if any(a["name"] == name for a in aliases):
            raise KmsError("AlreadyExistsException",
                           "An alias with the name %s already exists" % arn_alias(name))
        kid = resolve(req.get("TargetKeyId"))
        aliases.append({"name": name, "key_id": kid,
                        "visible_after": state["lists"] + args.alias_delay})
        return None

    def op_list_aliases(req):
        state["lists"] += 1
        visible = [a for a in aliases if a["visible_after"] < state["lists"]]
        start = int(req.get("Marker") or 0)
        page = visible[start:start + args.page_size]
        out = {"Aliases": [], "Truncated": start + args.page_size < len(visible)}
        for a in page:
            e = {"AliasName": a["name"], "AliasArn": arn_alias(a["name"])}
            if a["key_id"]:
                e["TargetKeyId"] = a["key_id"]
            out["Aliases"].append(e)
        if out["Truncated"]:
            out["NextMarker"] = str(start + args.page_size)
        return out

    def b64field(req, name):
        v = req.get(name)
        try:
            return base64.b64decode(v, validate=True)
        except Exception:
            raise KmsError("SerializationException", "%s is not valid base64" % name)

    def op_encrypt(req):
        kid = resolve(req.get("KeyId"))
        pt = b64field(req, "Plaintext")
        if not 1 <= len(pt) <= 4096:
            raise KmsError("ValidationException", "Plaintext length must be 1..4096")
        nonce = os.urandom(12)
        ct = AESGCM(keys[kid]).encrypt(nonce, pt, aad(kid, req.get("EncryptionContext")))
        blob = BLOB_MAGIC + kid.encode() + nonce + ct
        return {"CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": arn_key(kid),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def op_decrypt(req):
        blob = b64field(req, "CiphertextBlob")
        if len(blob) < 5 + 36 + 12 + 16 or not blob.startswith(BLOB_MAGIC):
            raise KmsError("InvalidCiphertextException", "")
        kid = blob[5:41].decode("ascii", "replace")
        if kid not in keys:
            raise KmsError("InvalidCiphertextException", "")
        if req.get("KeyId") is not None and resolve(req["KeyId"]) != kid:
            raise KmsError("IncorrectKeyException",
                           "The key ID in the request does not identify a CMK that can "
                           "perform this operation.")
        try:
            pt = AESGCM(keys[kid]).decrypt(blob[41:53], blob[53:],
                                           aad(kid, req.get("EncryptionContext")))
        except Exception:
            raise KmsError("InvalidCiphertextException", "")
        return {"KeyId": arn_key(kid), "Plaintext": base64.b64encode(pt).decode(),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    ops = {"CreateKey": op_create_key, "CreateAlias": op_create_alias,
           "ListAliases": op_list_aliases, "Encrypt": op_encrypt, "Decrypt": op_decrypt}

    def verify_signature(handler, body, target):
        """Recompute SigV4 with botocore over what was received; raise on mismatch."""
        auth = handler.headers.get("Authorization", "")
        if not auth:
            raise KmsError("MissingAuthenticationTokenException",
                           "Missing Authentication Token")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            raise KmsError("IncompleteSignatureException", "Unsupported algorithm")
        parts = {}
        for p in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = p.strip().partition("=")
            parts[k] = v
        try:
            ak, date8, cred_region, service, term = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
            sent_sig = parts["Signature"]
        except (KeyError, ValueError):
            raise KmsError("IncompleteSignatureException",
                           "Authorization header requires Credential, SignedHeaders and "
                           "Signature")
        if ak not in creds:
            raise KmsError("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        amz_date = handler.headers.get("X-Amz-Date", "")
        if service != "kms" or term != "aws4_request" or cred_region != region or \
                date8 != amz_date[:8]:
            raise KmsError("InvalidSignatureException",
                           "Credential should be scoped to a valid region, service kms "
                           "and the request date.")
        if not REQUIRED_SIGNED.issubset(signed):
            raise KmsError("InvalidSignatureException",
                           "Headers host, x-amz-date, x-amz-target and content-type must "
                           "be signed.")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            raise KmsError("IncompleteSignatureException", "Bad X-Amz-Date")
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300:
            raise KmsError("InvalidSignatureException", "Signature expired")
        headers = {}
        for name in signed:
            v = handler.headers.get(name)
            if v is None:
                raise KmsError("IncompleteSignatureException",
                               "Signed header %s is missing" % name)
            headers[name] = v
        req = AWSRequest(method=handler.command,
                         url="http://%s%s" % (headers["host"], handler.path),
                         data=body, headers=headers)
        req.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(ak, creds[ak]["secret"]), "kms", region)
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        want = signer.signature(sts, req)
        if not hmac.compare_digest(want, sent_sig):
            raise KmsError("InvalidSignatureException",
                           "The request signature we calculated does not match the "
                           "signature you provided. Check your AWS Secret Access Key and "
                           "signing method. Consult the service documentation for details.")
        log("botocore-verified %s by %s" % (target, ak))
        if creds[ak].get("deny"):
            raise KmsError("AccessDeniedException",
                           "User: arn:aws:iam::%s:user/%s is not authorized to perform: "
                           "kms:%s" % (ACCOUNT, ak, target.split(".")[-1]))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("fake_kms: " + (fmt % a) + "\n")

        def reply(self, status, obj=None, raw=None):
            body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            if args.mode == "silent":
                time.sleep(30)
                return
            if args.mode == "malformed":
                self.reply(200, raw=b"<html>502 Bad Gateway</html>")
                return
            target = self.headers.get("X-Amz-Target", "")
            try:
                if self.path != "/" or \
                        self.headers.get("Content-Type") != "application/x-amz-json-1.1":
                    raise KmsError("UnknownOperationException", "")
                verify_signature(self, body, target)
                action = target[len("TrentService."):] \
                    if target.startswith("TrentService.") else ""
                if action not in ops:
                    raise KmsError("UnknownOperationException", "")
                try:
                    req = json.loads(body or b"{}")
                except ValueError:
                    raise KmsError("SerializationException", "body is not JSON")
                with lock:
                    out = ops[action](req)
                log("ok %s" % action)
                self.reply(200, out)
            except KmsError as e:
                log("error %s %s" % (target, e.type))
                self.reply(400, {"__type": e.type, "message": e.message})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
