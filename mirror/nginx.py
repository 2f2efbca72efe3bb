"""`mirror serve --engine nginx`: Debian's nginx, run with a hardened configuration of our own.

Owns: writing that configuration from the same loaded catalog the embedded server uses (so the same
files, content types, ETags, CSPs, privacy headers and precompressed variants), and running
/usr/sbin/nginx with it from a private state folder (prefix, pid, temp paths), never with the system
configuration. Every URL the build has gets an exact ``location``; everything else is a 404, so
dotfiles, ``.mirror/`` and paths outside the build cannot be named. No access log, ``server_tokens
off``, loopback or a unix socket only (unless the operator overrides it), no ``Last-Modified``.

What nginx still does its own way: it always sends ``Date`` and ``Server: nginx`` (no version), its
own 400 page, and a 304 for any of a file's variant ETags.
"""

from __future__ import annotations

import grp
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from mirror import resources, serve
from mirror.errors import ServeError

log = logging.getLogger(__name__)

NGINX = "/usr/sbin/nginx"
START_TIMEOUT = 10.0
QVALUE = r"(?:\s*;\s*q\s*=\s*(?:1(?:\.0*)?|0?\.\d*[1-9]\d*))?\s*(?:,|$)"
ACCEPTS = {"br": rf"~*^:(?:.*,)?\s*(?:br|\*){QVALUE}", "gzip": rf"~*^:(?:.*,)?\s*(?:x-)?gzip{QVALUE}"}
VARIANT_PARTS = {"dir": {"br": ".mirror/br/", "gzip": ".mirror/gz/"}, "ext": {"br": ".br", "gzip": ".gz"},
                 "tag": {"br": "-br", "gzip": "-gzip"}}
UNSAFE_IN_CONFIG = set('"\\$;{}\'') | {chr(c) for c in range(32)} | {"\x7f"}


class NginxServer(serve.Endpoint):
    """A running nginx; ``stop()`` ends it and removes its state folder if mirror made it."""

    def __init__(self, proc: subprocess.Popen, host, port, socket_path, state: Path, own_state: bool):
        super().__init__(host, port, socket_path)
        self._proc = proc
        self.state = state
        self._own_state = own_state

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self.socket_path is not None and self.socket_path.is_socket():
            self.socket_path.unlink()
        if self._own_state:
            shutil.rmtree(self.state, ignore_errors=True)


def start(root: Path, *, host: str = "127.0.0.1", port: int = 0, socket_path: Path | None = None,
          allow_public: bool = False, state_dir: Path | None = None) -> NginxServer:
    """Write the configuration for ``root`` into a state folder and run nginx with it until ``stop()``."""
    binary = find_nginx()
    catalog = resources.load(root)
    user = worker_user(catalog.root)
    if socket_path is None:
        serve.check_host(host, allow_public)
        host = serve.address_of(host)
        port = port or free_port(host)
        listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    else:
        socket_path = Path(os.path.abspath(socket_path))
        serve.prepare_socket_path(socket_path)
        listen = f"unix:{socket_path}"
    own_state = state_dir is None
    state = Path(tempfile.mkdtemp(prefix="mirror-nginx-")) if own_state else Path(state_dir)
    try:
        conf = write_config(catalog, state, listen, user)
        check_config(binary, state, conf)
        proc = launch(binary, state, conf)
        server = NginxServer(proc, host, port, socket_path, state, own_state)
        wait_until_listening(server, proc, state)
    except BaseException:
        if own_state:
            shutil.rmtree(state, ignore_errors=True)
        raise
    log.info("nginx serving %s at %s (state in %s)", root, server.where, state)
    return server


def find_nginx() -> str:
    if not os.access(NGINX, os.X_OK):
        raise ServeError(f"{NGINX} is missing; install Debian's nginx-light (tools/system-deps test) "
                         "or use the embedded server (--engine mirror).")
    return NGINX


def worker_user(real_root: Path) -> str | None:
    """As root, nginx's workers run as nobody: the build must then be readable by others."""
    if os.geteuid() != 0:
        return None
    group = "nogroup" if _group_exists("nogroup") else "nobody"
    for folder in [real_root, *real_root.parents]:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            raise ServeError(f"nginx's workers run as nobody and cannot enter {folder}; make the build "
                             f"directory and its parents readable by others (chmod a+rX) or serve it with "
                             "--engine mirror.")
    return f"nobody {group}"


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def free_port(host: str) -> int:
    name = serve.address_of(host)
    with socket.socket(socket.AF_INET6 if ":" in name else socket.AF_INET) as probe:
        probe.bind((name, 0))
        return probe.getsockname()[1]


def write_config(catalog: resources.Catalog, state: Path, listen: str, user: str | None) -> Path:
    for sub in ("tmp", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    conf = state / "nginx.conf"
    tmp = conf.with_suffix(".tmp")
    tmp.write_text(render_config(catalog, state, listen, user), encoding="utf-8")
    os.replace(tmp, conf)
    return conf


def render_config(catalog: resources.Catalog, state: Path, listen: str, user: str | None) -> str:
    temp = {name: state / "tmp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    lines = ["# Written by mirror serve --engine nginx; rewritten on every start.",
             *([f"user {user};"] if user else []),
             "daemon off;", "worker_processes auto;", f"pid {state / 'nginx.pid'};", "error_log stderr crit;",
             "events { worker_connections 4096; }", "http {"]
    lines += [f"    {d}" for d in (
        "access_log off;", "log_not_found off;", "server_tokens off;", "etag off;", "if_modified_since off;",
        "absolute_redirect off;", "server_name_in_redirect off;", "autoindex off;", "disable_symlinks on;",
        "charset off;", "types {}", "default_type application/octet-stream;", "sendfile on;",
        "tcp_nodelay on;",
        "keepalive_timeout 20s;", "client_header_timeout 10s;", "client_body_timeout 10s;",
        "send_timeout 60s;", "client_max_body_size 1k;", "large_client_header_buffers 4 8k;",
        "max_ranges 1;", "msie_padding off;",
        f"client_body_temp_path {temp['body']};", f"proxy_temp_path {temp['proxy']};",
        f"fastcgi_temp_path {temp['fastcgi']};", f"uwsgi_temp_path {temp['uwsgi']};",
        f"scgi_temp_path {temp['scgi']};")]
    lines += coding_maps(catalog)
    lines += server_block(catalog, listen)
    lines.append("}")
    return "\n".join(lines) + "\n"


def coding_maps(catalog: resources.Catalog) -> list[str]:
    """Per set of available codings: which one to send (br before gzip; none for a Range request)."""
    out = []
    for codings in sorted({r.codings for r in catalog.routes.values() if len(r.codings) > 1}):
        name = _combo(codings)
        out.append(f'    map "$http_range:$http_accept_encoding" $mirror_{name} {{')
        out.append('        default "";')
        out += [f'        "{ACCEPTS[c]}" {c};' for c in codings if c != "identity"]
        out.append("    }")
        for suffix, values in VARIANT_PARTS.items():
            out.append(f'    map $mirror_{name} $mirror_{name}_{suffix} {{ default ""; '
                       + " ".join(f'{c} "{values[c]}";' for c in codings if c != "identity") + " }")
    return out


def _combo(codings: tuple[str, ...]) -> str:
    return "_".join(c for c in codings if c != "identity")


def server_block(catalog: resources.Catalog, listen: str) -> list[str]:
    fixed = [("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
             *resources.FIXED_HEADERS]
    out = ["    server {", f"        listen {listen};", "        server_name _;",
           f"        root {_q(str(catalog.root))};",
           *[f"        {line}" for line in add_headers(fixed)],
           '        add_header Allow "GET, HEAD" always;',
           "        if ($request_method !~ ^(GET|HEAD)$) { return 405; }"]
    if "/404.html" in catalog.routes:
        out.append("        error_page 404 /404.html;")
    else:
        out += ["        error_page 404 @mirror_404;", "        location @mirror_404 {",
                '            default_type "text/plain; charset=utf-8";',
                *[f"            {line}" for line in add_headers(fixed)],
                '            return 404 "Not found.\\n";', "        }"]
    out.append("        location / { return 404; }")
    for path, target in sorted(catalog.redirects.items()):
        if _configurable(path) and _configurable(target):
            out += [f"        location = {_q(path)} {{",
                    *[f"            {line}" for line in add_headers(fixed)],
                    f"            return 301 {_q(target)};", "        }"]
    for path, resource in sorted(catalog.routes.items()):
        if not _configurable(path) or not _configurable(resource.rel):
            log.warning("the nginx engine skips %r: nginx's configuration cannot hold its name", path)
            continue
        out += [f"        {line}" for line in location(path, resource)]
    out.append("    }")
    return out


def location(path: str, resource: resources.Resource) -> list[str]:
    identity = resource.variants["identity"]
    digest = identity.etag.decode().strip('"')
    fresh = f"if ($http_if_none_match ~ '\"{digest}%s\"|^\\s*\\*\\s*$') {{ return 304; }}"
    lines = [f"location = {_q(path)} {{", f"    default_type {_q(resource.ctype)};",
             *[f"    {line}" for line in add_headers(resource.common_pairs)],
             '    add_header Last-Modified "" always;']
    if len(resource.codings) > 1:
        name = _combo(resource.codings)
        lines += [f"    add_header ETag '\"{digest}${{mirror_{name}_tag}}\"' always;",
                  f"    add_header Content-Encoding $mirror_{name} always;",
                  "    " + fresh % "(-br|-gzip)?",
                  f'    try_files "/${{mirror_{name}_dir}}{resource.rel}${{mirror_{name}_ext}}" =404;']
    else:
        lines += [f"    add_header ETag '\"{digest}\"' always;",
                  "    " + fresh % "",
                  f'    try_files "/{resource.rel}" =404;']
    return lines + ["}"]


def add_headers(pairs) -> list[str]:
    return [f"add_header {name} {_q(value)} always;" for name, value in pairs]


def _configurable(text: str) -> bool:
    return not (set(text) & UNSAFE_IN_CONFIG)


def _q(text: str) -> str:
    if "$" in text or "\n" in text:
        raise ServeError(f"cannot write {text!r} into an nginx configuration; use --engine mirror.")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_config(binary: str, state: Path, conf: Path) -> None:
    result = subprocess.run([binary, "-t", "-q", "-p", f"{state}/", "-c", str(conf), "-e", "stderr"],
                            capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise ServeError(f"nginx refused the configuration written to {conf}: {result.stderr.strip()}")


def launch(binary: str, state: Path, conf: Path) -> subprocess.Popen:
    errors = open(state / "stderr.txt", "wb")  # noqa: SIM115  (nginx holds it; closed below)
    try:
        return subprocess.Popen([binary, "-p", f"{state}/", "-c", str(conf), "-e", "stderr"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
    finally:
        errors.close()


def wait_until_listening(server: NginxServer, proc: subprocess.Popen, state: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = (state / "stderr.txt").read_text(errors="replace").strip()
            raise ServeError(f"nginx exited at start (status {proc.returncode}): {said or 'no message'}")
        try:
            if server.socket_path:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(os.fspath(server.socket_path))
                os.chmod(server.socket_path, 0o660)  # as the embedded server: owner and group only
            else:
                socket.create_connection((server.host, server.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise ServeError(f"nginx did not start listening on {server.where} within {START_TIMEOUT:.0f} s.")
