package main

import (
	"context"

	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
)

// responderImpl is the gnet responder of package server with the EIR as its handler.
type responderImpl struct{ srv *server.Server }

// startServer starts the responder on o.listen and returns its bound address.
func startServer(ctx context.Context, o eirOpts, h *eir.Handler) (*responderImpl, string, error) {
	id := h.Identity()
	srv, err := server.New(server.Config{
		Listen:        o.listen,
		OriginHost:    id.OriginHost,
		OriginRealm:   id.OriginRealm,
		OriginStateID: id.OriginStateID,
		ProductName:   "diamload",
		Handler:       h,
		DWRInterval:   o.watchdog,
		Logger:        o.logger,
		TLS:           o.tls,
	})
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, "", err
	}
	return &responderImpl{srv}, srv.Addr(), nil
}

// close sends DPR to every client, waits for the DPAs (bounded by ctx) and stops.
func (r *responderImpl) close(ctx context.Context) error { return r.srv.Close(ctx) }

func (r *responderImpl) stats() any { return r.srv.Stats() }
