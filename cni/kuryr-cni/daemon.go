package main

// One HTTP/1.1 POST over the daemon's unix socket, worded on failure as Node's http client words it
// (the TypeScript shim puts that message in its "not reachable" error).

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
)

type reply struct {
	status int
	body   []byte
}

// errnoNames are libuv's names for what connecting to a unix socket can fail with.
var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EACCES: "EACCES",
	syscall.ENOTDIR: "ENOTDIR", syscall.ELOOP: "ELOOP", syscall.ENAMETOOLONG: "ENAMETOOLONG",
	syscall.EPERM: "EPERM", syscall.EAGAIN: "EAGAIN", syscall.ECONNRESET: "ECONNRESET",
	syscall.EPIPE: "EPIPE", syscall.EINVAL: "EINVAL", syscall.ENOTSOCK: "ENOTSOCK",
	syscall.EPROTOTYPE: "EPROTOTYPE", syscall.EMFILE: "EMFILE", syscall.ENFILE: "ENFILE",
	syscall.ENOMEM: "ENOMEM", syscall.ETIMEDOUT: "ETIMEDOUT", syscall.EIO: "EIO",
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name, ok := errnoNames[errno]; ok {
			return name
		}
		return "E" + strconv.Itoa(int(errno))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "EOF"
	}
	return err.Error()
}

// dialPath is the address libuv connects to: the path's bytes up to a NUL, cut to fit sun_path.
func dialPath(path []byte) string {
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}
	if len(path) > 107 {
		path = path[:107]
	}
	return string(path)
}

type failure struct{ msg string }

func post(socketPath jsString, payload []byte) (*reply, *failure) {
	conn, err := net.Dial("unix", dialPath(socketPath.utf8Bytes()))
	if err != nil {
		return nil, &failure{"connect " + errnoName(err) + " " + socketPath.String()}
	}
	defer conn.Close()
	head := "POST /" + daemonMethod + " HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(payload)) + "\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
	// The daemon may answer (413) before the whole upload is written: read while writing.
	written := make(chan error, 1)
	go func() {
		_, err := conn.Write(append([]byte(head), payload...))
		written <- err
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(res.Body)
	}
	if err != nil {
		select {
		case werr := <-written:
			if werr != nil {
				return nil, &failure{"write " + errnoName(werr)}
			}
		default:
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &failure{"socket hang up"}
		}
		return nil, &failure{"read " + errnoName(err)}
	}
	return &reply{status: res.StatusCode, body: body}, nil
}
