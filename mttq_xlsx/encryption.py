"""Password-protected workbooks: opening them with a password.

Excel encrypts an xlsx, xlsm or xlsb into an OLE file (streams EncryptionInfo and EncryptedPackage)
and an xls inside its Workbook stream (after a FILEPASS record): msoffcrypto-tool decrypts both.
LibreOffice encrypts each part of an ods and lists how in META-INF/manifest.xml (ODF 1.2: a key
derived by PBKDF2 from the SHA-256 or SHA-1 of the password, AES-256-CBC or Blowfish CFB, the part
deflated before encryption): the parts the reader needs are decrypted here with `cryptography` and
put into a workbook without encryption. Telling which files are encrypted is the reader's job.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
import zlib
from xml.etree import ElementTree

OOXML, XLS, ODS = "ooxml", "xls", "ods"
# Excel encrypts with this password a workbook protected only against changes, and opens it without
# asking (so does LibreOffice): such a file is no more password-protected than any other
EXCEL_DEFAULT_PASSWORD = "VelvetSweatshop"
MAX_ITERATIONS = 10_000_000  # of the key derivation, as msoffcrypto-tool caps Excel's spin count
ODS_MANIFEST = "META-INF/manifest.xml"
ODS_PARTS = ("content.xml", "meta.xml")  # the figures and the saved time; nothing else is read
_NS = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"
_AES_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
_BLOWFISH_CFB = "Blowfish CFB"
_SHA256 = "http://www.w3.org/2000/09/xmldsig#sha256"
_SHA1 = ("SHA1", "http://www.w3.org/2000/09/xmldsig#sha1")


class WrongPassword(Exception):
    """The password does not open the file."""


class Unsupported(Exception):
    """The file is encrypted in a way that cannot be opened here."""


def decrypt(data: bytes, kind: str, password: str, limit: int) -> bytes:
    """The workbook `data` decrypted with `password`. Raises WrongPassword, Unsupported, or any
    other exception for a damaged file. `limit`: the most bytes a decrypted ods part may inflate to."""
    if kind == ODS:
        return _decrypt_ods(data, password, limit)
    import msoffcrypto
    from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError

    out = io.BytesIO()
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
    except FileFormatError as exc:  # e.g. an Excel 95 workbook: its encryption is not handled
        raise Unsupported(str(exc)) from exc
    try:
        office.load_key(password=password)
        office.decrypt(out)
    except InvalidKeyError as exc:
        raise WrongPassword(str(exc)) from exc
    except DecryptionError as exc:
        if "unsupported" in str(exc).lower():
            raise Unsupported(str(exc)) from exc
        raise
    return out.getvalue()


def ods_encrypted(manifest: bytes) -> bool:
    """Whether an ods manifest lists encrypted parts."""
    return b"encryption-data" in manifest


def _decrypt_ods(data: bytes, password: str, limit: int) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        manifest = ElementTree.fromstring(_read(package, ODS_MANIFEST, 1 << 20))
        entries = {e.get(f"{_NS}full-path"): e for e in manifest.iter(f"{_NS}file-entry")}
        if "encrypted-package" in entries:  # the whole package as one part, as newer LibreOffice can write
            raise Unsupported("encrypted-package")
        parts = {}
        for name in ODS_PARTS:
            if name not in package.namelist():
                continue
            raw = _read(package, name, limit)
            encryption = entries[name].find(f"{_NS}encryption-data") if name in entries else None
            parts[name] = raw if encryption is None else _decrypt_part(raw, encryption, password, limit)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as plain:
        plain.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        plain.writestr(ODS_MANIFEST, _plain_manifest(parts))
        for name, content in parts.items():
            plain.writestr(name, content)
    return out.getvalue()


def _read(package: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with package.open(name) as part:
        content = part.read(limit + 1)
    if len(content) > limit:
        raise ValueError(f"{name} inflates to more than {limit} bytes")
    return content


def _decrypt_part(raw: bytes, encryption: ElementTree.Element, password: str, limit: int) -> bytes:
    algorithm = _child(encryption, "algorithm")
    derivation = _child(encryption, "key-derivation")
    name = algorithm.get(f"{_NS}algorithm-name", "")
    if derivation.get(f"{_NS}key-derivation-name") != "PBKDF2" or name not in (_AES_CBC, _BLOWFISH_CFB):
        raise Unsupported(f"{name}, {derivation.get(f'{_NS}key-derivation-name')}")
    iterations = int(derivation.get(f"{_NS}iteration-count", "0"))
    if not 0 < iterations <= MAX_ITERATIONS:
        raise ValueError(f"iteration count {iterations}")
    start = encryption.find(f"{_NS}start-key-generation")
    start_name = _SHA1[0] if start is None else start.get(f"{_NS}start-key-generation-name", "")
    if start_name not in (_SHA256, *_SHA1):
        raise Unsupported(start_name)
    start_key = (hashlib.sha256 if start_name == _SHA256 else hashlib.sha1)(password.encode()).digest()
    salt = base64.b64decode(derivation.get(f"{_NS}salt", ""))
    size = int(derivation.get(f"{_NS}key-size", "16"))
    key = hashlib.pbkdf2_hmac("sha1", start_key, salt, iterations, size)
    iv = base64.b64decode(algorithm.get(f"{_NS}initialisation-vector", ""))
    decrypted = _cipher(name, key, iv).update(raw)
    plain = decrypted
    if name == _AES_CBC:  # W3C padding: the last byte says how many bytes were added
        if not raw or len(raw) % 16 or not 1 <= decrypted[-1] <= 16:
            raise WrongPassword("bad padding")
        plain = decrypted[: -decrypted[-1]]
    _check(encryption, decrypted, plain)
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    content = inflate.decompress(plain, limit + 1)
    if len(content) > limit:
        raise ValueError(f"a part inflates to more than {limit} bytes")
    return content


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element:
    found = element.find(f"{_NS}{name}")
    if found is None:
        raise ValueError(f"manifest: no {name}")
    return found


def _cipher(name: str, key: bytes, iv: bytes):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if name == _AES_CBC:
        return Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    from cryptography.hazmat.decrepit.ciphers.algorithms import Blowfish

    try:
        from cryptography.hazmat.decrepit.ciphers import modes as old_modes
    except ImportError:  # cryptography before 47 keeps CFB among the usual modes
        old_modes = modes  # type: ignore[misc]
    return Cipher(Blowfish(key), old_modes.CFB(iv)).decryptor()


def _check(encryption: ElementTree.Element, decrypted: bytes, plain: bytes) -> None:
    """The manifest's checksum of the part's first kilobyte, as LibreOffice checks a password."""
    kind = encryption.get(f"{_NS}checksum-type", "")
    expected = base64.b64decode(encryption.get(f"{_NS}checksum", ""))
    digest = hashlib.sha256 if kind.lower().endswith("sha256-1k") else hashlib.sha1
    if expected and expected not in (digest(decrypted[:1024]).digest(), digest(plain[:1024]).digest()):
        raise WrongPassword("checksum mismatch")


def _plain_manifest(parts: dict[str, bytes]) -> bytes:
    entries = "".join(
        f'<manifest:file-entry manifest:full-path="{n}" manifest:media-type="text/xml"/>' for n in parts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        f'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>{entries}</manifest:manifest>'
    ).encode()
