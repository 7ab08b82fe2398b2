"""The clients of bench/serve_driver.py: event streams (GET /events) read from raw sockets by
one selector thread, and the page model that reads /api/snapshot and applies the patches.
Standard library only."""
import http.client, json, selectors, socket, threading, time

class Stream:
    """One /events client: an HTTP/1.1 response read incrementally, de-chunked, split into
    server-sent events; each event is kept as (arrival time, kind, ids)."""

    def __init__(self, index, sock):
        self.index, self.sock = index, sock
        self.raw = b""          # bytes not yet parsed (headers, then chunk framing)
        self.text = b""         # de-chunked body not yet split into events
        self.headers_done = False
        self.status = None
        self.chunked = False
        self.chunk_left = 0     # bytes of the current chunk still to come; -1: expect its CRLF
        self.connected = False  # saw the ": connected" preamble
        self.events = []        # (monotonic, kind, frozenset(ids))
        self.keepalives = 0
        self.closed = False
        self.bytes = 0
        self.page = None        # a Page when the client also reads the data as the page does

    def feed(self, data, now):
        self.bytes += len(data)
        self.raw += data
        if not self.headers_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.raw = self.raw[:end].decode("latin-1"), self.raw[end + 4:]
            lines = head.split("\r\n")
            self.status = int(lines[0].split()[1])
            self.chunked = any(l.lower().startswith("transfer-encoding:") and "chunked" in l.lower()
                               for l in lines[1:])
            self.headers_done = True
        if self.chunked:
            self._dechunk()
        else:
            self.text += self.raw
            self.raw = b""
        self._split(now)

    def _dechunk(self):
        while self.raw:
            if self.chunk_left > 0:
                piece = self.raw[:self.chunk_left]
                self.text += piece
                self.raw = self.raw[len(piece):]
                self.chunk_left -= len(piece)
                if self.chunk_left == 0:
                    self.chunk_left = -1
            elif self.chunk_left == -1:
                if len(self.raw) < 2:
                    return
                self.raw = self.raw[2:]
                self.chunk_left = 0
            else:
                end = self.raw.find(b"\r\n")
                if end < 0:
                    return
                size = int(self.raw[:end].split(b";")[0], 16)
                self.raw = self.raw[end + 2:]
                if size == 0:
                    self.closed = True
                    return
                self.chunk_left = size

    def _split(self, now):
        while True:
            end = self.text.find(b"\n\n")
            if end < 0:
                return
            block, self.text = self.text[:end].decode(), self.text[end + 2:]
            kind, data = "message", None
            for line in block.split("\n"):
                if line.startswith(":"):
                    if "keep-alive" in line:
                        self.keepalives += 1
                    elif "connected" in line:
                        self.connected = True
                        if self.page:
                            self.page.connect()
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
            if data is not None:
                document = json.loads(data)
                if kind == "patch":
                    ids = frozenset(row["worktree_id"] for row in document["inflight"]["upsert"])
                    if self.page:
                        self.page.patch(now, document)
                else:
                    ids = frozenset(document.get("ids", []))
                self.events.append((now, kind, ids))


class Page:
    """What the page's script does (Sources/RegistryServe/ServePage.swift): once its stream is
    connected, GET /api/snapshot; then apply each `event: patch` whose `from` is its generation
    (patches arriving during a read wait for it; one from elsewhere, a gap, reads the snapshot
    again). Each render is kept as (time, {worktree id: uncommitted files})."""

    def __init__(self, address, token):
        self.address, self.token = address, token
        self.cond = threading.Condition()
        self.generation = None
        self.rows = {}
        self.pending = []
        self.read = False       # a snapshot read is due
        self.renders = []
        self.requests = 0
        self.errors = 0
        self.gaps = 0

    def connect(self):
        with self.cond:
            self.generation, self.pending, self.read = None, [], True
            self.cond.notify()

    def wake(self):
        with self.cond:
            self.cond.notify()

    def _apply(self, patch):
        """False on a gap. The caller holds the lock."""
        if patch["to"] <= self.generation:
            return True
        if patch["from"] != self.generation:
            return False
        for worktree_id in patch["inflight"]["remove"]:
            self.rows.pop(worktree_id, None)
        for row in patch["inflight"]["upsert"]:
            self.rows[row["worktree_id"]] = row["uncommitted_files_count"] or 0
        self.generation = patch["to"]
        return True

    def patch(self, now, patch):
        with self.cond:
            if self.generation is None:
                self.pending.append(patch)
                return
            if self._apply(patch):
                self.renders.append((now, dict(self.rows)))
            else:
                self.gaps += 1
                self.generation, self.read = None, True
                self.cond.notify()

    def get(self, conn, path):
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"} if self.token else {})
        response = conn.getresponse()
        body = response.read()
        self.requests += 1
        if response.status != 200:
            raise OSError(f"{path} answered {response.status}")
        return json.loads(body)

    def run(self, stop):
        conn = http.client.HTTPConnection(*self.address, timeout=30)
        while not stop.is_set():
            with self.cond:
                while not self.read and not stop.is_set():
                    self.cond.wait(0.5)
                if stop.is_set():
                    return
                self.read = False
            try:
                snapshot = self.get(conn, "/api/snapshot")
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection(*self.address, timeout=30)
                with self.cond:
                    self.read = True
                time.sleep(0.1)
                continue
            with self.cond:
                self.generation = snapshot["generation"]
                self.rows = {row["worktree_id"]: row["uncommitted_files_count"] or 0 for row in snapshot["inflight"]}
                pending, self.pending = self.pending, []
                for patch in pending:
                    if not self._apply(patch):
                        self.gaps += 1
                        self.generation, self.read = None, True
                        break
                if self.generation is not None:
                    self.renders.append((time.monotonic(), dict(self.rows)))


def open_streams(address, count, token, path="/events"):
    streams = []
    request = (f"GET {path} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
               "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
               + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode()
    for index in range(count):
        sock = socket.create_connection(address)
        sock.sendall(request)
        sock.setblocking(False)
        streams.append(Stream(index, sock))
    return streams


def read_streams(streams, stop):
    selector = selectors.DefaultSelector()
    for stream in streams:
        selector.register(stream.sock, selectors.EVENT_READ, stream)
    while not stop.is_set():
        for key, _ in selector.select(0.2):
            stream = key.data
            now = time.monotonic()
            try:
                data = stream.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                stream.closed = True
                selector.unregister(stream.sock)
                continue
            stream.feed(data, now)
    selector.close()
