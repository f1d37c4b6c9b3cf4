#!/usr/bin/env python3
"""bench/run.py - sockctl side by side with nc, ncat, socat and iperf3.

Every comparison of issue 8 in one run, on loopback only.  The tools take
turns within each pass (round robin, the order rotated every pass) so that
machine drift lands on all of them alike; the table shows medians over the
passes and, for sockctl, the median of the ratios paired within a pass.

    ninja -C build bench && bench/run.py [--passes 3] [--bulk-size 1g]
        [--secs 5] [--only startup,bulk,echo,udp] [--build build]

Needs: nc (netcat-openbsd), ncat, socat, iperf3, hyperfine.  Each load is
bounded in bytes and seconds and every server is killed by its PID.
"""
import argparse
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def die(msg):
    sys.exit("bench: " + msg)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port, proto="tcp"):
    """Is something bound (udp) / listening (tcp) on the port?"""
    for f in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            lport = int(parts[1].split(":")[1], 16)
            if lport == port and (proto == "udp" or parts[3] == "0A"):
                return True
    return False


def wait_until(pred, secs=10.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


class Server:
    """A server process; its port is known up front or read from the
    `listening on ADDR:PORT` line it prints on stderr."""

    def __init__(self, argv, port=None, proto="tcp", stdout=None):
        self.errf = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=stdout or subprocess.DEVNULL,
                                  stderr=self.errf, start_new_session=True)
        self.port = port
        if port is None:
            if not wait_until(self._read_port):
                self.stop()
                die(f"{argv[0]} printed no listening line")
        elif not wait_until(lambda: listening(port, proto)):
            self.stop()
            die(f"{' '.join(argv)} did not start listening")

    def _read_port(self):
        self.errf.seek(0)
        m = re.search(rb"listening on \S*:(\d+) ", self.errf.read())
        if m:
            self.port = int(m.group(1))
        return self.port is not None

    def rss_kib(self):
        """Resident memory of the server and all its descendants."""
        kids = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = open(f"/proc/{d}/stat").read()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                    kids.setdefault(ppid, []).append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        total, todo = 0, [self.p.pid]
        while todo:
            pid = todo.pop()
            todo += kids.get(pid, [])
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def wait(self, secs):
        """Its exit status, or None after secs.  Woken by a pidfd the
        moment it exits: Popen.wait(timeout) polls in sleeps of up to
        50 ms, which would add up to 5% to a one-second bulk run."""
        fd = os.pidfd_open(self.p.pid)
        try:
            select.select([fd], [], [], secs)
        finally:
            os.close(fd)
        return self.p.poll()

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()


# ---------------------------------------------------------------- startup

def bench_startup(tools, sockctl, runs):
    cmds = {"true": ["/bin/true"], "sockctl": [sockctl, "--version"]}
    if "nc" in tools:
        cmds["nc"] = ["nc", "-h"]
    if "socat" in tools:
        cmds["socat"] = ["socat", "-V"]
    if "ncat" in tools:
        cmds["ncat"] = ["ncat", "--version"]
    names = list(cmds)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "-N", "-i", "--warmup", "20",
                        "--runs", str(runs), "--export-json", out.name,
                        "--style", "none"] +
                       [" ".join(cmds[n]) for n in names],
                       check=True, stdout=subprocess.DEVNULL)
        res = json.load(open(out.name))["results"]
    return {n: r["median"] * 1000 for n, r in zip(names, res)}


# ------------------------------------------------------------------- bulk

def bulk_pair(tool, sockctl, port, refs):
    """(receiver argv, sender argv) for one tool; receivers discard."""
    p = str(port)
    return {
        "ref": ([refs["bulk"], "recv", p], [refs["bulk"], "send", p]),
        "sockctl": ([sockctl, "serve", "-q", "--tcp", p, "-b", HOST,
                     "--relay", "--once"],
                    [sockctl, "connect", "-q", HOST, p]),
        "nc": (["nc", "-l", HOST, p], ["nc", "-N", HOST, p]),
        "ncat": (["ncat", "-l", HOST, p, "--recv-only"],
                 ["ncat", "--send-only", HOST, p]),
        "socat": (["socat", "-u", f"TCP-LISTEN:{p},bind={HOST},reuseaddr",
                   "STDOUT"],
                  ["socat", "-u", "STDIN", f"TCP:{HOST}:{p}"]),
    }[tool]


def bulk_run(tool, sockctl, refs, size, src, out=None):
    """Seconds to move size bytes from src ('file:PATH' or 'pipe')."""
    port = free_port()
    if tool == "iperf3":
        srv = Server(["iperf3", "-s", "-1", "-B", HOST, "-p", str(port)],
                     port)
        r = subprocess.run(["iperf3", "-c", HOST, "-p", str(port), "-n",
                            str(size), "-J"] +
                           (["-F", src[5:]] if src.startswith("file:")
                            else []),
                           capture_output=True, text=True, timeout=300)
        srv.wait(10)
        srv.stop()
        j = json.loads(r.stdout)
        return size * 8 / j["end"]["sum_received"]["bits_per_second"]
    if tool == "head|null":
        return drain_run(refs, size)
    recv, send = bulk_pair(tool, sockctl, port, refs)
    sink = open(out, "wb") if out else subprocess.DEVNULL
    srv = Server(recv, port, stdout=sink)
    t0 = time.monotonic()
    if src.startswith("file:"):
        with open(src[5:], "rb") as f:
            snd = subprocess.Popen(send, stdin=f, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    else:
        head = subprocess.Popen(["head", "-c", str(size), "/dev/zero"],
                                stdout=subprocess.PIPE)
        snd = subprocess.Popen(send, stdin=head.stdout,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        head.stdout.close()
    rc = srv.wait(300)
    t = time.monotonic() - t0
    try:
        snd.wait(10)
    except subprocess.TimeoutExpired:
        snd.kill()  # nc/ncat may wait for a peer that is gone
    srv.stop()
    if out:
        sink.close()
    if rc is None:
        die(f"{tool}: bulk receiver did not finish")
    return t


def drain_run(refs, size):
    """Seconds for `head -c size /dev/zero` into a pipe that is drained
    to /dev/null: no tool fed by the same pipe can be faster."""
    t0 = time.monotonic()
    head = subprocess.Popen(["head", "-c", str(size), "/dev/zero"],
                            stdout=subprocess.PIPE)
    drain = subprocess.run([refs["bulk"], "drain"], stdin=head.stdout,
                           capture_output=True, text=True, timeout=300)
    head.stdout.close()
    head.wait(10)
    t = time.monotonic() - t0
    if drain.returncode or drain.stdout.strip() != str(size):
        die(f"head|null drained {drain.stdout.strip()} of {size} bytes")
    return t


def verify_bulk(tools, sockctl, refs, tmp):
    """Every tool moves a random file intact (sha256 both ends)."""
    src = os.path.join(tmp, "verify.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(32 << 20))
    want = hashlib.sha256(open(src, "rb").read()).hexdigest()
    for tool in tools:
        if tool == "iperf3":
            continue
        out = os.path.join(tmp, f"verify.{tool}")
        bulk_run(tool, sockctl, refs, 32 << 20, "file:" + src, out)
        got = hashlib.sha256(open(out, "rb").read()).hexdigest()
        if got != want:
            die(f"{tool}: bulk bytes differ ({os.path.getsize(out)} B)")
        os.unlink(out)
    os.unlink(src)


# ------------------------------------------------------------------- echo

def echo_server(tool, sockctl, refs, proto):
    if tool == "sockctl":
        argv = ([sockctl, "serve", "-q", "--tcp", "0", "-b", HOST]
                if proto == "tcp" else
                [sockctl, "udp-listen", "-q", "-b", HOST, "0"])
        return Server(argv, None, proto)
    if tool == "ref":
        return Server([refs[proto], "0"], None, proto)
    port = free_port(socket.SOCK_STREAM if proto == "tcp"
                     else socket.SOCK_DGRAM)
    p = str(port)
    argv = {
        ("ncat", "tcp"): ["ncat", "-lk", HOST, p, "--max-conns", "20000",
                          "--exec", "/bin/cat"],
        ("socat", "tcp"): ["socat", f"TCP-LISTEN:{p},bind={HOST},fork,"
                           "reuseaddr,backlog=4096", "EXEC:cat"],
        ("ncat", "udp"): ["ncat", "-u", "-l", HOST, p, "--exec", "/bin/cat"],
        ("socat", "udp"): ["socat", "-b", "64", f"UDP-LISTEN:{p},bind={HOST}",
                           "PIPE"],
    }[(tool, proto)]
    return Server(argv, port, proto)


def echo_run(tool, sockctl, refs, loadgen, proto, n, secs):
    srv = echo_server(tool, sockctl, refs, proto)
    lg = subprocess.Popen([loadgen, proto, HOST, str(srv.port), str(n),
                           str(secs)], stdout=subprocess.PIPE, text=True)
    # Sample the server's memory while the load is on.
    time.sleep(secs * 0.8 + (n / 5000.0))
    rss = srv.rss_kib()
    out, _ = lg.communicate(timeout=secs + 60)
    srv.stop()
    m = dict(kv.split("=") for kv in out.split())
    if lg.returncode != 0:
        print(f"  ! {tool} {proto} x{n}: {out.strip()}", file=sys.stderr)
    return float(m["rate"]), rss, int(m["failed_conns"])


# ------------------------------------------------------------------ table

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--bulk-size", default="1g")
    ap.add_argument("--only", default="startup,bulk,echo,udp")
    ap.add_argument("--conns", default="1,1000,10000")
    a = ap.parse_args()
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    size = (int(a.bulk_size[:-1]) * mult[a.bulk_size[-1].lower()]
            if a.bulk_size[-1].isalpha() else int(a.bulk_size))
    only = set(a.only.split(","))
    b = os.path.abspath(a.build)
    sockctl = os.path.join(b, "sockctl")
    loadgen = os.path.join(b, "bench", "loadgen")
    refs = {"tcp": os.path.join(b, "bench", "ref_echo_tcp"),
            "udp": os.path.join(b, "bench", "ref_echo_udp"),
            "bulk": os.path.join(b, "bench", "ref_bulk")}
    for exe in [sockctl, loadgen] + list(refs.values()):
        if not os.access(exe, os.X_OK):
            die(f"{exe} missing: run 'ninja -C {a.build} bench' first")
    peers = [t for t in ("nc", "ncat", "socat", "iperf3", "hyperfine")
             if shutil.which(t)]
    results = {}  # (scenario, tool) -> [values per pass]

    def add(key, v):
        results.setdefault(key, []).append(v)

    tmp = tempfile.mkdtemp(prefix="sockctl-bench-")
    try:
        bulkfile = os.path.join(tmp, "bulk.bin")
        if "bulk" in only:
            with open(bulkfile, "wb") as f:
                chunk = os.urandom(1 << 20)
                for _ in range(size >> 20):
                    f.write(chunk)
                # Written back now, not by a kworker during the runs.
                f.flush()
                os.fsync(f.fileno())
            verify_bulk([t for t in ("sockctl", "ref", "nc", "ncat", "socat")
                         if t in ("sockctl", "ref") or t in peers], sockctl,
                        refs, tmp)
        for ps in range(a.passes):
            print(f"pass {ps + 1}/{a.passes}", file=sys.stderr)
            rot = lambda xs: xs[ps % len(xs):] + xs[:ps % len(xs)]
            if "startup" in only and "hyperfine" in peers:
                for t, ms in bench_startup(peers, sockctl, 300).items():
                    add(("startup ms", t), ms)
            if "bulk" in only:
                tools = rot([t for t in ("sockctl", "ref", "iperf3", "nc",
                                         "ncat", "socat")
                             if t in ("sockctl", "ref") or t in peers])
                for src, label in (("file:" + bulkfile, "bulk file GiB/s"),
                                   ("pipe", "bulk pipe GiB/s")):
                    # The pipe's writer alone: the ceiling of that row.
                    for t in tools + (["head|null"] if src == "pipe"
                                      else []):
                        secs = bulk_run(t, sockctl, refs, size, src)
                        add((label, t), size / secs / (1 << 30))
            for proto, ns, label in (
                    ("tcp", [int(x) for x in a.conns.split(",")],
                     "tcp echo req/s x{}"),
                    ("udp", [1, 16], "udp echo req/s x{}")):
                if ("echo" if proto == "tcp" else "udp") not in only:
                    continue
                tools = rot([t for t in ("sockctl", "ref", "ncat", "socat")
                             if t in ("sockctl", "ref") or t in peers])
                for n in ns:
                    for t in tools:
                        rate, rss, failed = echo_run(t, sockctl, refs,
                                                     loadgen, proto, n,
                                                     a.secs)
                        add((label.format(n), t), rate)
                        add((f"{proto} echo RSS MiB x{n}", t), rss / 1024)
                        add((f"{proto} echo unserved x{n}", t), failed)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(results, a, size)


def report(results, a, size):
    scen = []
    for s, _ in results:
        if s not in scen:
            scen.append(s)
    tools = ["sockctl", "true", "iperf3", "ref", "nc", "ncat", "socat",
             "head|null"]
    print(f"\nsockctl bench: {a.passes} passes, bulk {size >> 20} MiB, "
          f"echo {a.secs} s per run; {os.cpu_count()} CPUs, "
          f"{os.uname().release}\n")
    head = f"{'scenario':24}" + "".join(f"{t:>10}" for t in tools)
    print(head + "   sockctl ratio (paired median)")
    for s in scen:
        row = f"{s:24}"
        for t in tools:
            v = results.get((s, t))
            row += f"{med(v):10.3f}" if v and v[0] < 1000 else (
                f"{med(v):10.0f}" if v else f"{'-':>10}")
        ratios = []
        base = {"startup ms": "true", "bulk": "iperf3"}
        ref = next((v for k, v in base.items() if s.startswith(k)), "ref")
        for other in [ref] + [t for t in ("ref", "nc", "ncat", "socat",
                                          "head|null") if t != ref]:
            r = paired(results, s, "sockctl", other)
            if r is None or "unserved" in s:
                continue
            ratios.append(f"{r:.2f}x {other}")
        print(row + "   " + ", ".join(ratios))
    notes(results)


def paired(results, s, a, b):
    """Median over the passes of a's value over b's; None when a or b has
    no figures or b served nothing in every pass."""
    va, vb = results.get((s, a)), results.get((s, b))
    rs = [x / y for x, y in zip(va or [], vb or []) if y]
    return med(rs) if rs else None


def notes(results):
    """What the table needs to be read: the spread of the reference from
    pass to pass (the noise band of "on par"), and where 3x nc stands
    against the pipe's writer alone."""
    print()
    for (s, t), v in results.items():
        if t == "ref" and "req/s" in s and len(v) > 1:
            m = med(v)
            band = max(abs(x - m) for x in v) / m
            r = paired(results, s, "sockctl", "ref")
            print(f"{s}: ref varies by +-{band:.1%} from pass to pass; "
                  f"sockctl is {r:.2f}x ref")
    hn = paired(results, "bulk pipe GiB/s", "head|null", "nc")
    sn = paired(results, "bulk pipe GiB/s", "sockctl", "head|null")
    if hn is not None and sn is not None:
        print(f"bulk pipe: head into /dev/null alone is {hn:.2f}x nc, "
              f"sockctl moves {sn:.2f}x of it; no tool fed by that pipe "
              f"can pass {hn:.2f}x nc")


if __name__ == "__main__":
    main()
