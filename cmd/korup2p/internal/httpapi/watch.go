package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// KeepAliveInterval is how often an idle watch stream sends an SSE comment, so that
// proxies keep it open and a vanished client is noticed.
const KeepAliveInterval = 15 * time.Second

// handleWatch streams the space's events under a prefix as Server-Sent Events: a
// comment once subscribed, then one `data: {json}` per event, in commit order.
func (s *server) handleWatch(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.n.Subscribe(space, r.URL.Query().Get("prefix"), 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer sub.Cancel()
	s.m.watchers.Inc()
	defer s.m.watchers.Dec()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The subscription exists before this reaches the client: a write the client
	// makes once Watch returns is seen.
	if _, err := w.Write([]byte(": subscribed\n\n")); err != nil || rc.Flush() != nil {
		return
	}

	keepAlive := time.NewTicker(KeepAliveInterval)
	defer keepAlive.Stop()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil || rc.Flush() != nil {
				return
			}
		case ev, ok := <-sub.C:
			if !ok { // the Node closed
				return
			}
			// Write every event already queued, then flush once.
			buf.Reset()
			for more := true; more; {
				buf.WriteString("data: ")
				if err := enc.Encode(toEvent(ev)); err != nil { // ends in '\n'
					s.log.Error("HTTP API: encode an event", "err", err)
					return
				}
				buf.WriteByte('\n')
				s.m.events.Inc()
				select {
				case ev, ok = <-sub.C:
					more = ok
				default:
					more = false
				}
			}
			if _, err := w.Write(buf.Bytes()); err != nil || rc.Flush() != nil {
				return
			}
			if !ok {
				return
			}
		}
	}
}
