package main

// One HTTP/1.1 POST over the daemon's unix socket, worded on failure as Node's http client words it
// (the TypeScript shim puts that message in its "not reachable" error). Plain system calls and a small
// response reader instead of net/http: the binary builds in seconds from an empty cache and starts faster.

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"syscall"
)

type reply struct {
	status int
	body   []byte
}

// errnoNames are libuv's names for what connecting to, writing to and reading from a unix socket can fail with.
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

// failure is why the daemon gave no answer; timedOut: it said nothing for the whole timeout.
type failure struct {
	msg      string
	timedOut bool
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func post(socketPath jsString, payload []byte, timeoutS float64) (*reply, *failure) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		defer syscall.Close(fd)
		// A read that gets nothing for the whole timeout fails with EAGAIN: the daemon is silent.
		tv := syscall.NsecToTimeval(int64(timeoutS * 1e9))
		if tv.Sec == 0 && tv.Usec == 0 {
			tv.Usec = 1 // zero would mean "no timeout"
		}
		_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
		_, err = retryEINTR(func() (int, error) {
			return 0, syscall.Connect(fd, &syscall.SockaddrUnix{Name: dialPath(socketPath.utf8Bytes())})
		})
	}
	if err != nil {
		return nil, &failure{msg: "connect " + errnoName(err) + " " + socketPath.String()}
	}
	request := append([]byte("POST /"+daemonMethod+" HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(payload))+"\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"), payload...)
	// The daemon may answer (413) before the whole upload is written: read while writing.
	written := make(chan error, 1)
	go func() {
		for len(request) > 0 {
			n, err := retryEINTR(func() (int, error) { return syscall.Write(fd, request) })
			if err != nil {
				written <- err
				return
			}
			request = request[n:]
		}
		written <- nil
	}()
	r := &responseReader{fd: fd}
	res, err := r.read()
	if err != nil {
		select {
		case werr := <-written:
			if werr != nil && err == errHangUp {
				return nil, &failure{msg: "write " + errnoName(werr)}
			}
		default:
		}
		if err == errHangUp {
			return nil, &failure{msg: "socket hang up"}
		}
		if errors.Is(err, syscall.EAGAIN) {
			return nil, &failure{timedOut: true}
		}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return nil, &failure{msg: "read " + errnoName(err)}
		}
		return nil, &failure{msg: err.Error()}
	}
	return res, nil
}

var errHangUp = errors.New("socket hang up")

type responseReader struct {
	fd  int
	buf []byte
	eof bool
}

// fill reads more bytes; false at the end of the stream.
func (r *responseReader) fill() (bool, error) {
	if r.eof {
		return false, nil
	}
	chunk := make([]byte, 64*1024)
	n, err := retryEINTR(func() (int, error) { return syscall.Read(r.fd, chunk) })
	if err != nil {
		return false, err
	}
	if n == 0 {
		r.eof = true
		return false, nil
	}
	r.buf = append(r.buf, chunk[:n]...)
	return true, nil
}

// line takes one CRLF-terminated line off the buffer.
func (r *responseReader) line() (string, error) {
	for {
		if i := bytes.Index(r.buf, []byte("\r\n")); i >= 0 {
			l := string(r.buf[:i])
			r.buf = r.buf[i+2:]
			return l, nil
		}
		more, err := r.fill()
		if err != nil {
			return "", err
		}
		if !more {
			return "", errHangUp
		}
	}
}

func (r *responseReader) take(n int) ([]byte, error) {
	for len(r.buf) < n {
		more, err := r.fill()
		if err != nil {
			return nil, err
		}
		if !more {
			return nil, errHangUp
		}
	}
	out := r.buf[:n]
	r.buf = r.buf[n:]
	return out, nil
}

func parseError(what string) error { return errors.New("Parse Error: " + what) }

func (r *responseReader) read() (*reply, error) {
	var status int
	for { // 1xx answers precede the real one
		statusLine, err := r.line()
		if err != nil {
			return nil, err
		}
		parts := strings.SplitN(statusLine, " ", 3)
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "HTTP/1.") {
			return nil, parseError("Expected HTTP/")
		}
		if status, err = strconv.Atoi(parts[1]); err != nil || status < 100 || status > 999 {
			return nil, parseError("Invalid status code")
		}
		length, chunked := -1, false
		for {
			h, err := r.line()
			if err != nil {
				return nil, err
			}
			if h == "" {
				break
			}
			name, val, ok := strings.Cut(h, ":")
			if !ok {
				return nil, parseError("Invalid header token")
			}
			val = strings.TrimSpace(val)
			switch strings.ToLower(name) {
			case "content-length":
				if length, err = strconv.Atoi(val); err != nil || length < 0 {
					return nil, parseError("Invalid character in Content-Length")
				}
			case "transfer-encoding":
				chunked = strings.EqualFold(val, "chunked")
			}
		}
		if status < 200 {
			continue
		}
		var body []byte
		switch {
		case chunked:
			for {
				sizeLine, err := r.line()
				if err != nil {
					return nil, err
				}
				sizeText, _, _ := strings.Cut(sizeLine, ";")
				size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
				if err != nil || size < 0 {
					return nil, parseError("Invalid character in chunk size")
				}
				if size == 0 {
					break
				}
				data, err := r.take(int(size) + 2)
				if err != nil {
					return nil, err
				}
				body = append(body, data[:size]...)
			}
		case length >= 0:
			data, err := r.take(length)
			if err != nil {
				return nil, err
			}
			body = data
		default: // no length: the body runs to the end of the stream
			for {
				more, err := r.fill()
				if err != nil {
					return nil, err
				}
				if !more {
					break
				}
			}
			body = r.buf
		}
		return &reply{status: status, body: body}, nil
	}
}
