// Command rdptest-server plays one rdptest catalog scenario on loopback,
// for trying other clients against it by hand:
//
//	go run ./cmd/rdptest-server -list
//	go run ./cmd/rdptest-server -scenario account-locked-out -addr 127.0.0.1:33389
//	xfreerdp /v:127.0.0.1 /port:33389 /u:alice /d:CORP /p:... /cert:ignore +auth-only /sec:nla
//
// The scenarios' account is CORP\alice with the throwaway password of
// rdptest.TestPassword. It prints what the server observed when it stops
// (Ctrl-C).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/rdpprobe/rdpprobe/rdptest"
)

func main() {
	name := flag.String("scenario", "ok-logon", "catalog scenario to play")
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	keylog := flag.String("keylog", "", "write the server's TLS secrets to this file (NSS key log format)")
	list := flag.Bool("list", false, "list the scenarios and exit")
	flag.Parse()
	if *list {
		for _, e := range rdptest.Catalog() {
			fmt.Printf("%-36s %-32s %s\n", e.Name, e.Class, e.Spec)
		}
		return
	}
	var sc *rdptest.Scenario
	for _, e := range rdptest.Catalog() {
		if e.Name == *name {
			sc = &e.Scenario
		}
	}
	if sc == nil {
		fmt.Fprintf(os.Stderr, "rdptest-server: no scenario %q (-list shows them)\n", *name)
		os.Exit(2)
	}
	sc.Addr = *addr
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rdptest-server:", err)
			os.Exit(1)
		}
		defer f.Close()
		sc.TLS.KeyLogWriter = f
	}
	srv, err := rdptest.NewServer(*sc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rdptest-server:", err)
		os.Exit(1)
	}
	fmt.Printf("rdptest-server: playing %q on %s (account %s\\%s)\n", *name, srv.Addr, rdptest.TestDomain, rdptest.TestUser)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	srv.Close()
	for _, e := range srv.Events() {
		fmt.Println(e)
	}
}
