// Command clinic is a small web app that shows carecast embedded in a
// practice's back office: the Comms > Blasts pages of the product guide on a
// synthetic practice, with nothing leaving the machine.
//
//	go run ./examples/clinic                     # http://127.0.0.1:8080, database in a temp dir
//	go run ./examples/clinic -db clinic.db -addr 127.0.0.1:9000
//
// # What it wires together
//
//   - the ledger on the embedded SQLite store (store/sqlitestore), in the
//     -db file (a temporary one by default);
//   - a seeded practice, Sunrise Family Clinic: 240 synthetic patients with a
//     realistic mix of contact details and consent, in an in-memory patient
//     store standing in for the host's database, and four saved cohorts;
//   - fake SMS and email providers (provider/fake): every message "sent"
//     lands in the in-page Outbox instead of a carrier;
//   - tracking.Handler under /t/ for email opens, clicks and unsubscribes,
//     with a key generated at start;
//   - blasthttp under /api, the JSON API the pages' vanilla JavaScript calls
//     for the live character, segment and cost counter, the "Send to N
//     patients" label of Add Recipients and the live progress of a sending
//     blast (server-sent events; without JavaScript the page refreshes).
//
// # Pages
//
//	/                     blasts list, with Duplicate
//	/blasts/new           New Blast: name, cohorts, channel, Marketing checkbox
//	/blasts/{id}/edit     compose (type @ for merge fields), live counter, send
//	                      preview, estimate, Send Test to Me, Send
//	/blasts/{id}          results: stat cards filtering the message list,
//	                      low-delivery banner, Retry Failed, Add Recipients, Cancel
//	/outbox               what the fake providers accepted
//
// The demo has one organization and no login: the pages and the API act
// for the seeded clinic (a host's Org function reads its session). Quiet
// hours are off so that a marketing text sent at night shows up at once
// (-quiet-hours turns them on). Forms are protected against cross-site
// posts with http.CrossOriginProtection. This is a demo: run it on loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/carecast/carecast/blast/blasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dbPath := flag.String("db", "", "SQLite database file (default: a temporary directory)")
	quiet := flag.Bool("quiet-hours", false, "hold marketing texts outside 08:00-21:00 in the patient's time zone")
	flag.Parse()
	if err := run(*addr, *dbPath, *quiet); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(addr, dbPath string, quietHours bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "carecast-clinic-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "clinic.db")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, &appConfig{DBPath: dbPath, BaseURL: "http://" + ln.Addr().String(), QuietHours: quietHours})
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	srv := newServer(a)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("clinic: Sunrise Family Clinic on http://%s (ledger in %s)", ln.Addr(), dbPath)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newServer returns the demo's HTTP server. Every timeout is set, so that
// a client sending or reading slowly cannot hold a connection (and its
// goroutine) for ever: the tracking handler and blasthttp bound their
// bodies, but the server bounds the headers, whole requests, answers and
// idle keep-alive connections.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// The largest API body (a draft with attachments, at most
		// blasthttp.MaxBodyBytesDefault) arrives well within this.
		ReadTimeout: 30 * time.Second,
		// The live progress stream (server-sent events) lasts up to
		// blasthttp.LiveMaxDefault; the write timeout must outlast it.
		WriteTimeout: blasthttp.LiveMaxDefault + time.Minute,
		IdleTimeout:  2 * time.Minute,
	}
}

func init() { log.SetFlags(0) }
