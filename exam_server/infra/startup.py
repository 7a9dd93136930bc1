"""What a server needs from the machine before it says it is ready: a free port and writable directories.

Each problem is one line naming what is wrong and what to do (a traceback after "ready" tells an
operator nothing). The listening sockets are bound here, before the demo seeds or prints anything,
and handed to aiohttp, so the port cannot be taken in between.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path


class StartupProblem(Exception):
    """str() is the one line the command prints before it stops."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for every address ``host`` names (as aiohttp would bind them), or StartupProblem."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupProblem(
            f"监听地址 {host} 无法解析（{exc.strerror}）：请检查 DINGKAO_HOST / "
            f"cannot resolve DINGKAO_HOST={host}") from None
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart while old connections linger
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise _bind_problem(host, port, exc) from None
            sock.set_inheritable(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind_problem(host: str, port: int, exc: OSError) -> StartupProblem:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return StartupProblem(
            f"端口 {port} 已被占用（{where}）：请先停止占用它的程序，或用 DINGKAO_PORT 换一个端口 / "
            f"port {port} on {host} is already in use: stop what runs there or set DINGKAO_PORT")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StartupProblem(
            f"没有权限监听端口 {port}（{where}）：请用 1024 以上的端口（DINGKAO_PORT），由反向代理对外提供 80/443 / "
            f"no permission to listen on port {port}: use a port above 1024 behind the reverse proxy")
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupProblem(
            f"{host} 不是本机的地址：请检查 DINGKAO_HOST（如 127.0.0.1 或 0.0.0.0） / "
            f"{host} is not an address of this machine: check DINGKAO_HOST")
    return StartupProblem(f"无法监听 {where}（{exc.strerror or exc}） / cannot listen on {where}: {exc.strerror or exc}")


def writable_directory(path: Path, *, what: str, setting: str) -> None:
    """Create ``path`` if missing and prove a file can be written in it, or StartupProblem."""
    blocker = _file_in_the_way(path)
    if blocker is not None:
        where = "" if blocker == path else f"（{path} 应在它下面）"
        raise StartupProblem(
            f"{what} {blocker} 是一个文件，不是目录{where}：请移走或改名这个文件，或用 {setting} 指定别的目录 / "
            f"{blocker} is a file, not a directory" + ("" if blocker == path else f" (the {_english(what)} directory {path} would be under it)")
            + f": move it or set {setting}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".dingkao-write-check-"):
            pass
    except OSError as exc:
        user = _user()
        raise StartupProblem(
            f"{what} {path} 无法写入（{exc.strerror or exc}）：请让运行服务的用户 {user} 可以写入它"
            f"（如 chown {user} {path}），或用 {setting} 指定别的目录 / "
            f"cannot write to the {_english(what)} directory {path} as {user}: fix its owner or permissions, "
            f"or set {setting}") from None


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing non-directory on the way from / to ``path`` (itself included)."""
    for candidate in [*reversed(path.absolute().parents), path.absolute()]:
        if candidate.exists() and not candidate.is_dir():
            return _shown(candidate, path)
    return None


def _shown(found: Path, asked: Path) -> Path:
    """``found`` as the operator wrote the path: relative when ``asked`` was."""
    if asked.is_absolute():
        return found
    try:
        return found.relative_to(Path.cwd())
    except ValueError:
        return found


def _english(what: str) -> str:
    return {"数据目录": "data", "文件存储目录": "storage"}.get(what, "data")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())
