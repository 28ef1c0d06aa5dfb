"""Ed25519 signatures for manifests and checkpoints: key generation, the keys writers get, signing and checking.

A manifest's signature is detached (`_manifests/<seq>.sig`) and covers a statement that binds the manifest's
sequence number to the SHA-256 of its bytes, so a signature cannot be moved onto another manifest or position
(the journald FSS lesson: bind every seal to its place). The private key never lives in the archive; verifying
needs only the public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kanalytics.config import SIGNING_KEY_ENV as SIGNING_KEY_ENV  # named for callers that set it
from kanalytics.config import VERIFY_KEY_ENV as VERIFY_KEY_ENV
from kanalytics.config import Settings
from kanalytics.errors import ConfigError, UsageError

PRIVATE_KEY_NAME = "kanalytics-signing.key"
PUBLIC_KEY_NAME = "kanalytics-signing.pub"
SIGNATURE_FORMAT = "kanalytics.signature"
ALGORITHM = "ed25519"
_STATEMENT = "kanalytics.manifest.v1"
_CHECKPOINT = "kanalytics.checkpoint.v1"


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, shortened: names the key in signatures and error messages."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(out_dir: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a new PEM key pair into `out_dir`; the private key is created 0600 and never overwritten."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / PRIVATE_KEY_NAME, out_dir / PUBLIC_KEY_NAME
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise UsageError(
            f"{private_path} or {public_path} already exists",
            hint="choose another --out folder; a replaced key cannot verify the signatures made before",
        )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(private_path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(private_path, 0o600)  # the umask cannot widen it, but an existing file's mode could
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"signing key {path} is not an Ed25519 key (create one with `kanalytics keygen`)")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        data = Path(path).read_bytes()
        key: Any = (
            serialization.load_pem_private_key(data, password=None).public_key()
            if b"PRIVATE KEY" in data
            else serialization.load_pem_public_key(data)
        )
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"public key {path} is not an Ed25519 key")
    return key


# -- the keys a writer signs with and checks against: a value passed to each writer, never process state --
@dataclass(frozen=True)
class Keys:
    """The key new manifests are signed with (None: unsigned) and the key manifests a writer acts on must
    verify under (None: none is checked). Writers take one as `keys=`; `Keys.from_settings` builds it."""

    signer: Ed25519PrivateKey | None = None
    verifier: Ed25519PublicKey | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        """The keys of `[signing]`; the verifier defaults to the public half of the signing key (a writer
        that signs trusts only what that key signed). The environment is applied by `load_settings`."""
        private, public = settings.signing.private_key_path, settings.signing.public_key_path
        signer = load_private_key(Path(private).expanduser()) if private else None
        if public:
            verifier: Ed25519PublicKey | None = load_public_key(Path(public).expanduser())
        else:
            verifier = signer.public_key() if signer is not None else None
        return cls(signer, verifier)


NO_KEYS = Keys()


# -- manifest signatures ------------------------------------------------------------------------------------
def _statement(seq: int, manifest_sha256: str) -> bytes:
    return f"{_STATEMENT}\n{seq}\n{manifest_sha256}\n".encode()


def signature_bytes(key: Ed25519PrivateKey, seq: int, manifest_sha256: str) -> bytes:
    """The detached signature file of manifest `seq` whose bytes hash to `manifest_sha256`."""
    record = {
        "format": SIGNATURE_FORMAT,
        "algorithm": ALGORITHM,
        "key": fingerprint(key.public_key()),
        "seq": seq,
        "manifest_sha256": manifest_sha256,
        "signature": base64.b64encode(key.sign(_statement(seq, manifest_sha256))).decode("ascii"),
    }
    return orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    message: str  # "valid" or the reason it is not
    key: str | None = None


def check_signature(
    data: bytes, public_key: Ed25519PublicKey, seq: int, manifest_sha256: str
) -> SignatureCheck:
    """Check a `.sig` file's bytes against the manifest it should sign and the trusted public key."""
    try:
        record = orjson.loads(data)
        key_id, sig = str(record["key"]), base64.b64decode(record["signature"], validate=True)
        signed_seq, signed_hash = int(record["seq"]), str(record["manifest_sha256"])
    except (ValueError, KeyError, TypeError):
        return SignatureCheck(False, "signature file has an invalid format")
    trusted = fingerprint(public_key)
    if key_id != trusted:
        return SignatureCheck(False, f"signature made with an unknown key (fingerprint {key_id})", key_id)
    if signed_seq != seq or signed_hash != manifest_sha256:
        return SignatureCheck(
            False, "signature is for another manifest (moved, or the manifest was edited)", key_id
        )
    try:
        public_key.verify(sig, _statement(seq, manifest_sha256))
    except InvalidSignature:
        return SignatureCheck(False, "signature verification failed", key_id)
    return SignatureCheck(True, "valid", key_id)


# -- checkpoints --------------------------------------------------------------------------------------------
def sign_checkpoint(key: Ed25519PrivateKey, origin: str, seq: int, manifest_sha256: str) -> str:
    """A signed-note style checkpoint: origin, seq:sha256, then `— <key> <signature>`."""
    body = f"{_CHECKPOINT}\n{origin}\n{seq}:{manifest_sha256}\n"
    sig = base64.b64encode(key.sign(body.encode())).decode("ascii")
    return f"{body}\n— {fingerprint(key.public_key())} {sig}\n"


def check_checkpoint_note(text: str, public_key: Ed25519PublicKey) -> str | None:
    """Why a signed checkpoint note does not verify under `public_key`, or None when it does."""
    start = text.find(_CHECKPOINT)  # `kanalytics checkpoint` prints SEQ:SHA256 first, then the note
    body, sep, signature_line = text[max(start, 0) :].strip().rpartition("\n\n— ")
    if start < 0 or not sep:
        return None  # a bare SEQ:SHA256 carries no signature to check
    key_id, _, sig = signature_line.strip().partition(" ")
    if key_id != fingerprint(public_key):
        return f"checkpoint signed with an unknown key (fingerprint {key_id})"
    try:
        public_key.verify(base64.b64decode(sig, validate=True), (body + "\n").encode())
    except (InvalidSignature, ValueError):
        return "checkpoint signature verification failed"
    return None


def parse_checkpoint(text: str) -> tuple[int, str]:
    """`SEQ:SHA256`, or a signed checkpoint note (its `seq:sha256` line is used), → (seq, sha256)."""
    for line in text.strip().splitlines():
        seq, sep, digest = line.strip().partition(":")
        if sep and seq.isdigit() and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
            return int(seq), digest
    raise UsageError(
        f"not a checkpoint: {text.strip()[:80]!r}",
        hint="use the SEQ:SHA256 printed by `kanalytics checkpoint`",
    )
