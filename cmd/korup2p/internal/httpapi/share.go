package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// CARContentType is the media type of GET .../export and of the body of POST
// /v1/spaces/import: a CAR v1 file.
const CARContentType = "application/vnd.ipld.car; version=1"

// ticketPrefix starts every invite ticket (korup2p.Node.Invite): a string without
// it is taken as a space name.
const ticketPrefix = "korup2p1"

func (s *server) handleInvite(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.inviteOptions(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ticket, err := s.n.Invite(r.Context(), space, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, inviteWire{Ticket: ticket})
}

func (s *server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req joinWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Ticket = strings.TrimSpace(req.Ticket)
	switch {
	case req.Ticket == "":
		s.fail(w, r, badRequest(ReasonRequest, "join: no ticket (want an invite ticket or an open space's name)"))
		return
	case !strings.HasPrefix(req.Ticket, ticketPrefix):
		if err := validSpaceName(req.Ticket); err != nil {
			s.fail(w, r, fmt.Errorf("join: neither a ticket nor a space name: %w", err))
			return
		}
	}
	if req.As != "" {
		if err := validSpaceName(req.As); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	info, err := s.n.Join(r.Context(), req.Ticket, req.As)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, toSpace(info))
}

// handleExport streams the space as a CAR file. An error before the first byte
// is an error answer; after it, the connection is cut, so that the client sees a
// broken transfer and not a short file that ends cleanly.
func (s *server) handleExport(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", CARContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", space+".car"))
	tw := &trackingWriter{w: w}
	if err := s.n.Export(r.Context(), space, tw, nil); err != nil {
		if !tw.wrote {
			w.Header().Del("Content-Disposition")
			s.fail(w, r, err)
			return
		}
		if r.Context().Err() == nil {
			s.log.Error("HTTP API: export cut short", "space", space, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// trackingWriter records whether anything was written.
type trackingWriter struct {
	w     http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = t.wrote || len(p) > 0
	return t.w.Write(p)
}

// handleImport streams the body, a CAR file, into Node.Import: the blocks are
// checked and ingested as they arrive, up to s.maxImport bytes.
func (s *server) handleImport(w http.ResponseWriter, r *http.Request) {
	as := r.URL.Query().Get("as")
	if as != "" {
		if err := validSpaceName(as); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	body := http.MaxBytesReader(w, r.Body, s.maxImport)
	info, err := s.n.Import(r.Context(), body, as, nil)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = &requestError{status: http.StatusRequestEntityTooLarge, code: CodeTooLarge, reason: ReasonBodyTooLarge,
			msg: fmt.Sprintf("import: the CAR file exceeds the limit of %d bytes", tooBig.Limit)}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, toSpace(info))
}
