"""Write output files atomically: to a temporary file beside the target, then rename into place."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

_REASONS = {
    errno.ENOSPC: "ổ đĩa đã đầy",
    errno.EACCES: "không có quyền ghi",
    errno.EPERM: "không có quyền ghi",
    errno.EROFS: "ổ đĩa chỉ cho đọc",
    errno.ENOTDIR: "một phần của đường dẫn là tệp chứ không phải thư mục",
    errno.ENOENT: "đường dẫn không tồn tại",
    errno.EEXIST: "đã có tệp trùng tên",
    errno.ENAMETOOLONG: "tên quá dài",
    errno.EIO: "lỗi đọc ghi trên ổ đĩa (ổ đĩa hoặc thẻ nhớ có thể bị hỏng)",
    errno.EISDIR: "đó là một thư mục",
    errno.ELOOP: "liên kết trỏ vòng quanh",
    errno.EBUSY: "tệp đang bị chương trình khác dùng",
    errno.ETXTBSY: "tệp đang bị chương trình khác dùng",
    errno.EMFILE: "đang mở quá nhiều tệp cùng lúc",
    errno.ENFILE: "đang mở quá nhiều tệp cùng lúc",
    errno.EFBIG: "tệp quá lớn",
    errno.EDQUOT: "đã hết dung lượng được cấp trên ổ đĩa",
    errno.ETIMEDOUT: "ổ đĩa mạng không trả lời",
    errno.ENXIO: "thiết bị không có sẵn",
    errno.ENODEV: "thiết bị không có sẵn",
    errno.EINVAL: "tên hoặc đường dẫn không hợp lệ",
}


def reason(exc: OSError) -> str:
    """The Vietnamese words for why a file operation failed (the system's own words are English)."""
    return _REASONS.get(exc.errno or 0, f"lỗi hệ thống số {exc.errno}" if exc.errno else "lỗi hệ thống")


def ensure_folder(folder: Path) -> None:
    """Create `folder` if needed and make sure files can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Không tạo được thư mục “{folder}”: {reason(exc)}.") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"Không ghi được vào thư mục “{folder}”: không có quyền ghi. Hãy chọn thư mục khác."
        )


def _mode(target: Path) -> int:
    """The permissions of the file replacing `target`: those it has, else the usual rw-r--r--."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _file_create_error() -> type[Exception] | tuple[()]:
    """xlsxwriter's error for a file it cannot create; nothing when xlsxwriter was never imported
    (no workbook was written then), so reading never imports a writer."""
    errors = sys.modules.get("xlsxwriter.exceptions")
    return errors.FileCreateError if errors else ()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `target`, on failure it is removed.

    The old `target` stays intact whatever goes wrong.
    """
    ensure_folder(target.parent)
    lock = target.parent / f"~${target.name}"
    if lock.exists():
        raise OutputError(
            f"Tệp “{target}” đang được mở trong Excel hoặc chương trình khác. Hãy đóng tệp rồi chạy lại."
        )
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, _mode(target))  # mkstemp makes it private; outputs are shared files
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except PermissionError as exc:
            raise OutputError(
                f"Không ghi đè được tệp “{target}”: tệp đang mở hoặc bị khóa. Hãy đóng tệp rồi chạy lại."
            ) from exc
    except OSError as exc:
        raise OutputError(f"Không ghi được tệp “{target}”: {reason(exc)}.") from exc
    except _file_create_error() as exc:  # xlsxwriter wraps the OSError of a full disk in its own
        cause = exc.__cause__ or exc.__context__
        why = reason(cause) if isinstance(cause, OSError) else "lỗi khi tạo tệp"
        raise OutputError(f"Không ghi được tệp “{target}”: {why}.") from exc
    finally:
        tmp.unlink(missing_ok=True)
