package providertest

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// SlowBodyResult is what [SlowBody] observed.
type SlowBodyResult struct {
	// Status is the status the handler answered (0 if it wrote none).
	Status int
	// ClientStatus is the status the client read back.
	ClientStatus int
	// Closed reports whether the server closed the connection after its
	// answer (it must: the rest of the body is never read).
	Closed bool
}

// SlowBody checks a handler's own read deadline. It serves h on a
// loopback [httptest.Server], sends it a POST to target (a path and
// query) announcing a 100,000-byte form body
// (application/x-www-form-urlencoded) and trickles that body one byte
// every 10 ms, always making
// progress, so that no idle timeout can end it. h is expected to stop
// reading at its configured deadline (set it short, for example 200 ms)
// and answer; SlowBody then reports what h answered and what the client
// received. It fails t when h has not returned within 30 s, or when the
// client gets no answer within 30 s after that: the handler, or the
// server draining the body, is then holding the connection and its
// goroutine.
func SlowBody(t testing.TB, h http.Handler, target string) SlowBodyResult {
	t.Helper()
	done := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		done <- sw.status
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("providertest: dial: %v", err)
	}
	defer c.Close()
	const length = 100_000
	_, err = c.Write([]byte("POST " + target + " HTTP/1.1\r\nHost: hooks.clinic.example\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"))
	if err != nil {
		t.Fatalf("providertest: write headers: %v", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for range length {
			select {
			case <-stop:
				return
			case <-tk.C:
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	var res SlowBodyResult
	select {
	case res.Status = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("providertest: the handler is still reading a trickled body after 30 s: it has no read deadline of its own")
		return res
	}
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatalf("providertest: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("providertest: no answer after the handler returned (the server is draining the body?): %v", err)
		return res
	}
	resp.Body.Close()
	res.ClientStatus, res.Closed = resp.StatusCode, resp.Close
	return res
}

// statusWriter records the status a handler answered. Unwrap lets
// http.ResponseController reach the connection underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
