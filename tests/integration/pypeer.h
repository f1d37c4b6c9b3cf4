/*
 * pypeer.h - the start of every Python client in the serve and reliability
 * tests: connect (TCP or Unix), read until a string or EOF, expect.  LIMIT
 * is their default timeout in seconds.
 */
#ifndef SOCKCTL_PYPEER_H
#define SOCKCTL_PYPEER_H

#define PY_PEER(LIMIT)                                                         \
	"import json, os, select, selectors, socket, struct, sys, threading, " \
	"time\n"                                                               \
	"A = sys.argv[1:]\n"                                                   \
	"PORT = int(A[0]) if A and A[0].isdigit() else 0\n"                    \
	"def conn(host='127.0.0.1', port=None):\n"                             \
	"    return socket.create_connection((host, port or PORT), "           \
	"timeout=" #LIMIT ")\n"                                                \
	"def uconn(path):\n"                                                   \
	"    s = socket.socket(socket.AF_UNIX)\n"                              \
	"    s.settimeout(" #LIMIT ")\n"                                       \
	"    s.connect(path)\n"                                                \
	"    return s\n"                                                       \
	"def name(s):\n"                                                       \
	"    return '%s:%d' % s.getsockname()[:2]\n"                           \
	"def recv_until(s, want, limit=" #LIMIT "):\n"                         \
	"    buf = b''\n"                                                      \
	"    end = time.time() + limit\n"                                      \
	"    while want not in buf and time.time() < end:\n"                   \
	"        s.settimeout(max(0.01, end - time.time()))\n"                 \
	"        try:\n"                                                       \
	"            d = s.recv(65536)\n"                                      \
	"        except socket.timeout:\n"                                     \
	"            break\n"                                                  \
	"        if not d:\n"                                                  \
	"            break\n"                                                  \
	"        buf += d\n"                                                   \
	"    return buf\n"                                                     \
	"def recv_eof(s, limit=" #LIMIT "):\n"                                 \
	"    buf = b''\n"                                                      \
	"    end = time.time() + limit\n"                                      \
	"    while time.time() < end:\n"                                       \
	"        s.settimeout(max(0.01, end - time.time()))\n"                 \
	"        d = s.recv(65536)\n"                                          \
	"        if not d:\n"                                                  \
	"            return buf\n"                                             \
	"        buf += d\n"                                                   \
	"    raise SystemExit('no EOF within %s s, got %r' % (limit, buf))\n"  \
	"def closed_by_peer(s, limit=" #LIMIT "):\n"                           \
	"    try:\n"                                                           \
	"        return recv_eof(s, limit) == b''\n"                           \
	"    except ConnectionResetError:\n"                                   \
	"        return True\n"                                                \
	"def expect(got, want):\n"                                             \
	"    if got != want:\n"                                                \
	"        raise SystemExit('expected %r, got %r' % (want, got))\n"

#endif
