"""What an evidence attachment may be: its name, its size, and its bytes.

Pure checks (no database, no storage): the form runs them for the field
error, the service again so no other door stores a file that fails them.
A file passes only when its extension is on the allow-list **and** its
first bytes are what that extension promises, so an executable or an HTML
page renamed to `.png` or `.txt` is refused.
"""

import json
import re
import unicodedata
from dataclasses import dataclass

# extension -> the content type the file is served with (never the uploader's).
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "csv": "text/csv",
    "log": "text/plain",
    "json": "application/json",
}
TEXT_EXTENSIONS = {"txt", "csv", "log", "json"}
MAGIC = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
# Executables and scripts, whatever they are called.
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"#!",
    b"\xca\xfe\xba\xbe",
    b"\xcf\xfa\xed\xfe",
    b"PK\x03\x04",
)
# Markup a browser would run as a page if it ever sniffed it.
_MARKUP = re.compile(rb"^\s*<(!doctype|html|head|body|script|svg|iframe|\?xml)", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")
MAX_NAME = 120


@dataclass(frozen=True)
class FileVerdict:
    """A file's checked identity: the extension and the content type to serve it with."""

    extension: str
    content_type: str


def attachment_filename(name: str) -> str:
    """The uploader's file name made harmless for display and download headers.

    Only the last path component survives (`../../etc/passwd` -> `passwd`,
    `C:\\x\\report.pdf` -> `report.pdf`); control and odd characters become `_`.
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot else name[:MAX_NAME]
    return name


def attachment_refusal(*, name: str, head: bytes, size: int, max_bytes: int) -> str | None:
    """Why this file may not be attached, or None. `head` is the file's first bytes."""
    filename = attachment_filename(name)
    if not filename or "." not in filename:
        return "Give the file a name with one of these endings: " + allowed_list() + "."
    extension = filename.rsplit(".", 1)[1].lower()
    if extension not in CONTENT_TYPES:
        return f"A .{extension} file cannot be attached; allowed: {allowed_list()}."
    if size <= 0:
        return "The file is empty."
    if size > max_bytes:
        return (
            f"The file is {size / 1_048_576:.1f} MB; at most {max_bytes / 1_048_576:.0f} MB "
            "may be attached."
        )
    if head.startswith(EXECUTABLE_MAGIC):
        return f"The file is a program or an archive, not a .{extension} file."
    if extension in MAGIC:
        if not head.startswith(MAGIC[extension]):
            return f"The file's contents are not a .{extension} file."
        return None
    return _text_refusal(extension, head, complete=size <= len(head))


def _text_refusal(extension: str, head: bytes, *, complete: bool) -> str | None:
    if b"\x00" in head:
        return f"The file's contents are binary, not a .{extension} file."
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end inside a multi-byte character; only a real error counts.
        if complete or error.start < len(head) - 3:
            return f"The file's contents are not UTF-8 text, as a .{extension} file must be."
        text = head[: error.start].decode("utf-8")
    if _MARKUP.match(head):
        return f"The file is an HTML or XML page, not a .{extension} file."
    if extension == "json" and complete:
        try:
            json.loads(text)
        except ValueError:
            return "The file is not valid JSON."
    return None


def attachment_verdict(name: str) -> FileVerdict:
    """The extension and served content type of a file that passed `attachment_refusal`."""
    extension = attachment_filename(name).rsplit(".", 1)[1].lower()
    return FileVerdict(extension=extension, content_type=CONTENT_TYPES[extension])


def allowed_list() -> str:
    return ", ".join(f".{ext}" for ext in CONTENT_TYPES)
