"""One client connection of the embedded server: an asyncio protocol.

Owns: buffering request heads, answering pipelined requests in order with one write per batch, flow
control (a client that does not read is not answered further), sending large files with sendfile,
timeouts (checked by the server's once-a-second sweep) and a lingering close, so an error response is
read by the client rather than lost to a TCP reset. What to answer is respond.py's business.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket

from mirror import http, resources, respond

log = logging.getLogger(__name__)
access = logging.getLogger("mirror.serve.access")

IDLE_TIMEOUT = 20  # seconds a keep-alive connection may sit idle
HEAD_TIMEOUT = 10  # seconds to send a whole request head once it has started
STALL_TIMEOUT = 60  # seconds a client may leave a response unread
LINGER = 2  # seconds to drain a client's input after the last response, before closing
FLUSH_AT = 64 << 10  # bytes of queued responses written at once while answering a pipelined batch
SENDFILE_RATE = 16 << 10  # bytes/s a large download must at least average
MAX_CONNECTIONS = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64)  # leave fds for files


class Connection(asyncio.Protocol):
    __slots__ = ("state", "transport", "buf", "seen", "head_started", "write_paused", "paused_since",
                 "busy_until", "draining")

    def __init__(self, state):
        self.state = state
        self.transport = None
        self.buf = b""
        self.seen = state.tick
        self.head_started = None  # tick at which an incomplete head began
        self.write_paused = False
        self.paused_since = 0
        self.busy_until = None  # while a file is being sent: the tick by which it must be done
        self.draining = False

    # asyncio callbacks

    def connection_made(self, transport) -> None:
        self.transport = transport
        if len(self.state.connections) >= MAX_CONNECTIONS:
            transport.write(respond.error(503))
            transport.close()
            return
        self.state.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc) -> None:
        self.state.connections.discard(self)
        self.draining = True

    def data_received(self, data: bytes) -> None:
        if self.draining:
            return
        self.seen = self.state.tick
        self.buf = self.buf + data if self.buf else data
        if self.busy_until is None and not self.write_paused:
            self.answer()

    def eof_received(self) -> None:
        return None  # close once what is queued has been written

    def pause_writing(self) -> None:
        self.write_paused = True
        self.paused_since = self.state.tick
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.draining and self.busy_until is None:
            self.transport.resume_reading()
            if self.buf:
                self.answer()

    # answering

    def answer(self) -> None:
        """Answer every complete request in the buffer, in order, in as few writes as possible."""
        buf, pos, size, out, queued = self.buf, 0, len(self.buf), [], 0
        catalog, log_access = self.state.catalog, self.state.access_log
        while pos < size:
            end = buf.find(b"\r\n\r\n", pos, pos + http.MAX_HEAD + 4)
            if end < 0:
                problem = http.incomplete_head_problem(buf[pos:])
                if problem is not None:
                    return self.fail(out, problem)
                if self.head_started is None:
                    self.head_started = self.state.tick
                break
            self.head_started = None
            try:
                req = http.parse_head(buf[pos:end])
            except http.BadRequest as problem:
                return self.fail(out, problem)
            pos = end + 4
            data, job = respond.respond(catalog, req)
            if log_access:
                access.info("%s %s %s", req.method.decode(), req.path, data[9:12].decode())
            out.append(data)
            if job is not None:
                self.buf = buf[pos:]
                return self.send_file(out, job, req.keep_alive)
            if not req.keep_alive:
                return self.finish(out)
            queued += len(data)
            if queued >= FLUSH_AT:
                self.transport.write(b"".join(out))
                out, queued = [], 0
                if self.write_paused:
                    break
        self.buf = buf[pos:] if pos else buf
        if out:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def fail(self, out: list[bytes], problem: http.BadRequest) -> None:
        log.debug("refused a request: %s", problem.why)
        out.append(respond.error(problem.status))
        self.finish(out)

    def finish(self, out: list[bytes]) -> None:
        """Write the last response, half-close, and drain the client's input a moment (lingering close)."""
        self.buf = b""
        self.draining = True
        self.seen = self.state.tick
        self.transport.write(b"".join(out))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()

    def send_file(self, out: list[bytes], job: respond.FileJob, keep_alive: bool) -> None:
        self.busy_until = self.state.tick + STALL_TIMEOUT + job.count // SENDFILE_RATE
        self.transport.pause_reading()
        self.transport.write(b"".join(out))
        asyncio.ensure_future(self._send_file(job, keep_alive))

    async def _send_file(self, job: respond.FileJob, keep_alive: bool) -> None:
        try:
            with open(job.path, "rb", opener=resources.open_nofollow) as f:
                if os.fstat(f.fileno()).st_size != job.size:
                    raise OSError(f"{job.path} changed size while being served")
                await asyncio.get_running_loop().sendfile(self.transport, f, job.offset, job.count)
        except (OSError, RuntimeError) as e:
            log.debug("a file transfer ended early: %s", e)
            self.transport.abort()
            return
        finally:
            self.busy_until = None
        if not keep_alive:
            return self.finish([])
        self.seen = self.state.tick
        if not self.write_paused and not self.transport.is_closing():
            self.transport.resume_reading()
            if self.buf:
                self.answer()

    def check_timeouts(self, tick: int) -> None:
        """Called once a second by the server; closes a connection that has waited too long."""
        if self.draining:
            if self.write_paused and tick - self.paused_since > STALL_TIMEOUT:
                self.transport.abort()
            elif not self.write_paused and self.transport.get_write_buffer_size() == 0:
                if tick - self.seen > LINGER:
                    self.transport.abort()
        elif self.busy_until is not None:
            if tick > self.busy_until:
                self.transport.abort()
        elif self.write_paused:
            if tick - self.paused_since > STALL_TIMEOUT:
                self.transport.abort()
        elif self.head_started is not None:
            if tick - self.head_started > HEAD_TIMEOUT:
                self.finish([respond.error(408)])
        elif tick - self.seen > IDLE_TIMEOUT:
            self.transport.close()
